export { clusterOf, configSchema, defaultConfig, type Config } from './schema.ts';
export { ConfigError, loadConfig, logLevel, parseConfig, validateSupported } from './loadConfig.ts';
