// Setup for widget unit tests (jsdom): React Testing Library cleans up after each test, and the test session
// (the `mendix/session` stand-in) starts fresh for every test.
import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";
import { resetTestSession } from "../../src/__tests__/shims/mendixSession";

afterEach(() => {
    cleanup();
    resetTestSession();
});
