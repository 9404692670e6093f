import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM texts of a throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate, both signed by it. */
export interface ThrowawayCerts {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate signed by another CA: a server that requires its own CA's must refuse it. */
  readonly strangerCert: string;
  readonly strangerKey: string;
}

/**
 * Makes fresh certificates with the `openssl` CLI (in every Debian image; `.ci/run` relies on it too), in a temp
 * directory removed before returning. Nothing is kept: each test run has its own CA.
 */
export function throwawayCerts(): ThrowawayCerts {
  const dir = mkdtempSync(join(tmpdir(), "sparkless-certs-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  try {
    const ca = (name: string) => ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`);
    const signed = (name: string, by: string, ext: string) => {
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      writeFileSync(join(dir, `${name}.ext`), ext);
      ssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${by}.pem`, "-CAkey", `${by}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
    };
    ca("ca");
    ca("other-ca");
    signed("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    signed("client", "ca", "extendedKeyUsage=clientAuth\n");
    signed("stranger", "other-ca", "extendedKeyUsage=clientAuth\n");
    return {
      ca: read("ca.pem"),
      serverCert: read("server.pem"),
      serverKey: read("server.key"),
      clientCert: read("client.pem"),
      clientKey: read("client.key"),
      strangerCert: read("stranger.pem"),
      strangerKey: read("stranger.key"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
