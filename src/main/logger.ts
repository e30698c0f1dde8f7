import pino from 'pino';
import type { Config } from '../config';

export type Logger = pino.Logger;

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name = 'hades'): Logger {
  return pino({ name, level: config.LOG_LEVEL });
}

/** The `{info,warn,error}(msg, data)` shape the bridge takes, over pino's `(data, msg)`. */
export function bridgeLog(log: Logger) {
  return {
    info: (msg: string, data?: object) => log.info(data ?? {}, msg),
    warn: (msg: string, data?: object) => log.warn(data ?? {}, msg),
    error: (msg: string, data?: object) => log.error(data ?? {}, msg),
  };
}
