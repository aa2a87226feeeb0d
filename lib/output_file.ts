/** The plain output file (-o -O -e -E -c -C): the messages of its streams as they are. */

import { Mask } from "./abi.ts";
import { FdOutput, openFile, type OutputKind } from "./output.ts";

export class FileOutput extends FdOutput {}

export const fileKind: OutputKind = {
  open(spec, reporter) {
    const fd = openFile(spec, reporter);
    return fd < 0 ? undefined : new FileOutput(fd, Mask[spec.stream], spec.path, reporter);
  },
};
