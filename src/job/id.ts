// A job id: a workflow id, and a NATS subject and key-value key once it follows a prefix:
// letters, digits, `_ . -`, at most 128, starting with a letter or digit, no dot at the end nor
// two in a row (`a.` or `a..b` would make an empty subject token).
export const jobIdPattern = /^(?!.*\.\.)(?!.*\.$)[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
