// Starts the floor (floor-server.mjs, a bare `ws` broadcast server) in its own Node process and
// gives the bench the same view of it as of the product: a ServedProcess (CPU, memory, settle,
// stop) plus what a scenario needs to address it (users, rooms, the room's sequence account).

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ROOT, ServedProcess, captureOutput, freePort, waitHealthy } from "./proc.mjs";

const FLOOR = fileURLToPath(new URL("./floor-server.mjs", import.meta.url));

/**
 * `batch`: "off" (one frame per event always, the default) or "on" (?batch=1 sockets get one array
 * per turn); `deflate`: offer permessage-deflate.
 */
export async function startFloor({ batch = "off", deflate = false } = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [FLOOR, JSON.stringify({ port, batch, deflate })], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = captureOutput(child);
  const url = `http://127.0.0.1:${port}`;
  const floor = new ServedProcess({ child, url });
  floor.output = output;
  try {
    await waitHealthy(child, url, output, 30_000);
  } catch (err) {
    await floor.stop();
    throw err;
  }
  return floor;
}

/** The floor's users: the token is the user id (the floor has no auth). */
export const floorUsers = (n) => Array.from({ length: n }, (_, i) => ({ id: `u${i}`, token: `u${i}` }));

/** How far the floor has sequenced a room (0 if it never saw it). */
export async function floorLastSeq(floor, roomId) {
  const res = await fetch(`${floor.url}/floor/rooms/${encodeURIComponent(roomId)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`floor: GET room ${roomId}: ${res.status}`);
  return (await res.json()).lastSeq;
}
