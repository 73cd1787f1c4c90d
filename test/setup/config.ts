import { ConfigError, loadConfig } from "../../server/config";

/** The ConfigError `loadConfig` throws for `env`; fails the test when it accepts the environment or throws another error. */
export function configError(env: NodeJS.ProcessEnv): ConfigError {
    try {
        loadConfig(env);
    } catch (error) {
        if (error instanceof ConfigError) {
            return error;
        }
        throw error;
    }
    throw new Error("loadConfig accepted the environment");
}
