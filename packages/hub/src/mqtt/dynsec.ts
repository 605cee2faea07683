import { randomBytes } from "node:crypto";
import { encodeTopicLevel, INGEST_TOPIC_ROOT, TOPIC_ROOT } from "@chorus/protocol";
import type { MqttClient } from "mqtt";

/** Mosquitto 2's dynamic-security control topics. */
const CONTROL_TOPIC = "$CONTROL/dynamic-security/v1";
const RESPONSE_TOPIC = `${CONTROL_TOPIC}/response`;
/** A broker that has not answered a control command by then is not going to. */
const COMMAND_TIMEOUT_MS = 10_000;
/** Usernames of provisioned credentials: `chorus-rt-<expiry ms>-<random>`, so any hub can expire them. */
const CREDENTIAL_PREFIX = "chorus-rt-";
/** Mosquitto's answer to a command that names a role it does not have. */
const ROLE_NOT_FOUND = "Role not found";

/** The role that lets the hub itself publish canonical topics and read the ingest topics. */
export const HUB_ROLE = "chorus-hub";
/** How often a hub deletes expired credentials (its own timers cover those it issued). */
const SWEEP_INTERVAL_MS = 60_000;

interface DynsecResponse {
  command: string;
  error?: string;
  data?: unknown;
  correlationData?: string;
}

/** What a credential may do in its org's topics. */
export interface CredentialRights {
  subscribe: boolean;
  publish: boolean;
}

export interface ProvisionedCredentials {
  username: string;
  password: string;
  clientId: string;
  expiresAt: Date;
}

/**
 * Realtime credentials kept by an external Mosquitto 2 through its dynamic-security plugin.
 *
 * Each credential is a broker client of its own (username, random password, bound client id)
 * with one role per org and scope set: subscribe under `chorus/{org}/#`, publish under
 * `chorus-in/{org}/#`. So the broker, not the hub, enforces the org, and a leaked credential is
 * worth nothing past its expiry: the hub that issued it deletes it then (which also disconnects
 * it), and every hub sweeps expired `chorus-rt-` clients, so credentials issued by a hub that
 * died are removed too.
 */
export class DynsecProvisioner {
  readonly #client: MqttClient;
  readonly #pending = new Map<string, (response: DynsecResponse) => void>();
  readonly #roles = new Set<string>();
  readonly #expiries = new Set<NodeJS.Timeout>();
  readonly #sweep: NodeJS.Timeout;
  readonly #onMessage = (topic: string, payload: Buffer) => {
    if (topic !== RESPONSE_TOPIC) return;
    let body: { responses?: DynsecResponse[] };
    try {
      body = JSON.parse(payload.toString("utf8"));
    } catch {
      return;
    }
    for (const response of body.responses ?? []) {
      const id = response.correlationData;
      const settle = id === undefined ? undefined : this.#pending.get(id);
      if (settle) {
        this.#pending.delete(id as string);
        settle(response);
      }
    }
  };

  private constructor(client: MqttClient) {
    this.#client = client;
    client.on("message", this.#onMessage);
    this.#sweep = setInterval(() => {
      this.sweepExpired().catch(() => {});
    }, SWEEP_INTERVAL_MS);
    this.#sweep.unref();
  }

  /**
   * Take over the control topics on a connected client whose user is a dynamic-security admin,
   * and make sure that user holds {@link HUB_ROLE}. Adding a role to a connected user makes
   * Mosquitto disconnect it, so the first start of a hub on a fresh broker reconnects once.
   */
  static async start(client: MqttClient, username: string): Promise<DynsecProvisioner> {
    await client.subscribeAsync(RESPONSE_TOPIC, { qos: 1 });
    const provisioner = new DynsecProvisioner(client);
    await provisioner.#ensureRole(HUB_ROLE, [
      { acltype: "publishClientSend", topic: `${TOPIC_ROOT}/#`, allow: true },
      { acltype: "subscribePattern", topic: `${INGEST_TOPIC_ROOT}/#`, allow: true },
      { acltype: "publishClientReceive", topic: `${INGEST_TOPIC_ROOT}/#`, allow: true },
    ]);
    const info = await provisioner.#command({ command: "getClient", username });
    const roles = (info.data as { client?: { roles?: { rolename: string }[] } } | undefined)?.client
      ?.roles;
    if (!roles?.some((r) => r.rolename === HUB_ROLE)) {
      // The broker drops this connection as it applies the role (its answer may be lost with
      // it); mqtt.js reconnects and resubscribes.
      let timer: NodeJS.Timeout | undefined;
      const reconnected = new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        timer = setTimeout(
          () => reject(new Error(`no reconnect after adding role ${HUB_ROLE} to ${username}`)),
          COMMAND_TIMEOUT_MS,
        );
      });
      provisioner
        .#command({ command: "addClientRole", username, rolename: HUB_ROLE })
        .catch(() => {});
      try {
        await reconnected;
      } finally {
        clearTimeout(timer);
      }
    }
    await provisioner.sweepExpired();
    return provisioner;
  }

  /**
   * A broker client for one holder of realtime credentials, deleted when they expire: after
   * `ttlMs`, and not after `notAfterMs` (the expiry of the token that asked for them).
   */
  async issue(
    org: string,
    rights: CredentialRights,
    clientId: string,
    ttlMs: number,
    notAfterMs = Number.POSITIVE_INFINITY,
  ): Promise<ProvisionedCredentials> {
    const expiresAt = new Date(Math.min(Date.now() + ttlMs, notAfterMs));
    const username = `${CREDENTIAL_PREFIX}${expiresAt.getTime()}-${randomBytes(6).toString("hex")}`;
    const password = randomBytes(24).toString("base64url");
    const create = async () =>
      this.#command({
        command: "createClient",
        username,
        password,
        clientid: clientId,
        roles: [{ rolename: await this.#orgRole(org, rights) }],
      });
    let response = await create();
    if (response.error === ROLE_NOT_FOUND) {
      // The broker lost a role this hub made (its dynamic-security file re-initialised, or an
      // operator's edit): forget it, make it again, and try once more.
      this.#roles.clear();
      response = await create();
    }
    if (response.error) throw new Error(`dynamic-security createClient: ${response.error}`);
    const timer = setTimeout(() => {
      this.#expiries.delete(timer);
      this.#command({ command: "deleteClient", username }).catch(() => {});
    }, expiresAt.getTime() - Date.now());
    timer.unref();
    this.#expiries.add(timer);
    return { username, password, clientId, expiresAt };
  }

  /** Delete every provisioned client whose expiry (in its username) has passed. */
  async sweepExpired(now = Date.now()): Promise<number> {
    const list = await this.#check({ command: "listClients", verbose: false });
    const names = (list.data as { clients?: string[] } | undefined)?.clients ?? [];
    let deleted = 0;
    for (const name of names) {
      if (!name.startsWith(CREDENTIAL_PREFIX)) continue;
      const expiry = Number(name.slice(CREDENTIAL_PREFIX.length).split("-")[0]);
      if (Number.isFinite(expiry) && expiry <= now) {
        await this.#command({ command: "deleteClient", username: name });
        deleted++;
      }
    }
    return deleted;
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const timer of this.#expiries) clearTimeout(timer);
    this.#expiries.clear();
    this.#client.off("message", this.#onMessage);
    for (const settle of this.#pending.values()) settle({ command: "", error: "hub closing" });
    this.#pending.clear();
  }

  /** The role of an org's credentials with these scopes, created on first use. */
  async #orgRole(org: string, { subscribe, publish }: CredentialRights): Promise<string> {
    const level = encodeTopicLevel(org);
    const rolename = `chorus-org-${level}-${subscribe ? "s" : ""}${publish ? "p" : ""}`;
    if (this.#roles.has(rolename)) return rolename;
    const acls: object[] = [];
    if (subscribe) {
      acls.push(
        { acltype: "subscribePattern", topic: `${TOPIC_ROOT}/${level}/#`, allow: true },
        { acltype: "publishClientReceive", topic: `${TOPIC_ROOT}/${level}/#`, allow: true },
      );
    }
    if (publish) {
      acls.push({
        acltype: "publishClientSend",
        topic: `${INGEST_TOPIC_ROOT}/${level}/#`,
        allow: true,
      });
    }
    await this.#ensureRole(rolename, acls);
    return rolename;
  }

  async #ensureRole(rolename: string, acls: object[]): Promise<void> {
    const response = await this.#command({ command: "createRole", rolename, acls });
    if (response.error && response.error !== "Role already exists") {
      throw new Error(`dynamic-security createRole ${rolename}: ${response.error}`);
    }
    this.#roles.add(rolename);
  }

  async #check(command: Record<string, unknown>): Promise<DynsecResponse> {
    const response = await this.#command(command);
    if (response.error) {
      throw new Error(`dynamic-security ${String(command.command)}: ${response.error}`);
    }
    return response;
  }

  #command(command: Record<string, unknown>): Promise<DynsecResponse> {
    // While the broker is away mqtt.js would queue the command and send it on reconnect, long
    // after its caller gave up: a credential nobody holds. Refuse at once instead, so the
    // route answers 503 now and nothing is created behind its back.
    if (!this.#client.connected) {
      return Promise.reject(
        new Error(`dynamic-security ${String(command.command)}: not connected to the broker`),
      );
    }
    const correlationData = randomBytes(8).toString("hex");
    return new Promise<DynsecResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationData);
        reject(new Error(`dynamic-security ${String(command.command)}: no answer from the broker`));
      }, COMMAND_TIMEOUT_MS);
      timer.unref();
      this.#pending.set(correlationData, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      this.#client.publish(
        CONTROL_TOPIC,
        JSON.stringify({ commands: [{ ...command, correlationData }] }),
        { qos: 1 },
        (error) => {
          if (!error) return;
          clearTimeout(timer);
          this.#pending.delete(correlationData);
          reject(error);
        },
      );
    });
  }
}
