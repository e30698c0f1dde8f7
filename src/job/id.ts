// A job id: a workflow id and a NATS subject-safe token (letters, digits, `_ . -`, at most 128).
export const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
