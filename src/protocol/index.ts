export * from "./models";
export * from "./frames";
export * from "./close-codes";
