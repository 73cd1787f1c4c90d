// Setup for widget unit tests (jsdom): React Testing Library cleans up after each test.
import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";

afterEach(() => {
    cleanup();
});
