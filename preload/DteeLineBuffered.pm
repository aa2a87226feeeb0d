# Loaded into every perl the command starts by `dtee -L`, through PERL5OPT
# (README, "Why is my output out of order?"). While STDOUT is a socket
# (dtee's), it is flushed at every print, as it would be line by line on a
# terminal; written into a file or a pipe it keeps its buffer, as there.
# STDERR is unbuffered in perl anyway.
package DteeLineBuffered;
if (-S STDOUT) {
    my $previous = select STDOUT;
    $| = 1;
    select $previous;
}
1;
