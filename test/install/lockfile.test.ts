/**
 * `npm ci` must work on every OS a Mendix developer uses (Windows, macOS, Linux x64/arm64, glibc and musl):
 * npm refuses a package restricted by `os`, `cpu` or `libc` on other platforms unless it is optional.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

interface LockedPackage {
    version?: string;
    optional?: boolean;
    dev?: boolean;
    os?: string[];
    cpu?: string[];
    libc?: string[];
    engines?: Record<string, string>;
}

const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
    lockfileVersion: number;
    packages: Record<string, LockedPackage>;
};
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    engines: { node: string };
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
};

describe("package-lock.json installs on every OS", () => {
    it("is a v3 lockfile that lists platform-specific packages at all (so this check has something to check)", () => {
        expect(lock.lockfileVersion).toBe(3);
        const restricted = Object.values(lock.packages).filter(entry => entry.os || entry.cpu || entry.libc);
        expect(restricted.length).toBeGreaterThan(10);
    });

    it("has no non-optional package restricted by os, cpu or libc", () => {
        const offenders = Object.entries(lock.packages)
            .filter(([name, entry]) => name !== "" && !entry.optional && (entry.os || entry.cpu || entry.libc))
            .map(([name, entry]) => `${name} (${[entry.os, entry.cpu, entry.libc].flat().filter(Boolean).join(", ")})`);
        expect(offenders).toEqual([]);
    });

    it("declares no platform-specific package directly", () => {
        const direct = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
        const platformOnly = direct.filter(name => {
            const entry = lock.packages[`node_modules/${name}`];
            return entry?.os !== undefined || entry?.cpu !== undefined || entry?.libc !== undefined;
        });
        expect(platformOnly).toEqual([]);
    });
});

describe("Node versions", () => {
    it("every locked package that states a Node engine accepts the lowest Node this project supports", () => {
        const lowest = semver.minVersion(pkg.engines.node)!.version;
        expect(lowest).toBe("20.19.4");
        const refusing = Object.entries(lock.packages)
            .filter(([name, entry]) => name !== "" && !entry.optional && entry.engines?.node !== undefined)
            .filter(([, entry]) => !semver.satisfies(lowest, entry.engines!.node!))
            .map(([name, entry]) => `${name}: ${entry.engines!.node}`);
        expect(refusing).toEqual([]);
    });
});
