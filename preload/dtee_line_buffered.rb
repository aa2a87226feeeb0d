# Loaded into every ruby the command starts by `dtee -L`, through RUBYOPT
# (README, "Why is my output out of order?"). While $stdout is a socket
# (dtee's), it is flushed at every write, as it would be line by line on a
# terminal; written into a file or a pipe it keeps its buffer, as there.
# $stderr is unbuffered in ruby anyway.
begin
  $stdout.sync = true if $stdout.stat.socket?
rescue IOError, SystemCallError
  # A closed stdout: nothing to flush.
end
