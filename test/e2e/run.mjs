// Placeholder until the browser test lands (issue 5).
console.log("e2e: no browser test yet");
