// The start-up baseline of the bench: what `deno run` costs before any work.
console.log("hello, world");
