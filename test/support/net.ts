import { createConnection } from "node:net";

/** Whether something accepts a TCP connection at `endpoint` (`http://127.0.0.1:port`) or on this loopback port. */
export function accepts(endpoint: string | number): Promise<boolean> {
  const { hostname, port } = typeof endpoint === "number" ? { hostname: "127.0.0.1", port: String(endpoint) } : new URL(endpoint);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
