// A client of a port-forward's local end, for the port-forward unit tests.

/** Connects, writes at once (before any tunnel is open), reads until `want` characters came or the forward closed. */
export function roundTrip(port: number, text: string, want: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(text);
        },
        data(s, d) {
          got += d.toString();
          if (got.length >= want) {
            s.end();
            resolve(got);
          }
        },
        close() {
          resolve(got);
        },
        error(_s, e) {
          reject(e);
        },
      },
    });
  });
}
