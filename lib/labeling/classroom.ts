/**
 * A class session: many students rank the same sampled answers, each on
 * their own device. The teacher starts it; each student joins with the
 * session's join code and a name and is given a token, which from then on
 * stands for that student alone: every ranking made with it is written under
 * their name, so a student can write only their own rankings.
 *
 * What is kept on disk, so that a killed server started again loses nothing:
 * - `<labels>.jsonl`: every ranking, one line each, with `labeler` and
 *   `session` (the same format as a ranking made alone; lines are written
 *   under the file's lock, one writer at a time);
 * - `<labels>.class.json`: the join code, how the lists are spread, and the
 *   roster (each student's name, place in the class, and the SHA-256 of their
 *   token, never the token itself), so a student's page goes on with its
 *   token after a restart; a restart with other spreading settings is refused.
 *
 * Which lists a student ranks, and in which order, is `assignClassLists`
 * (overlap.ts): the overlap set to everyone, the rest spread round the class.
 */
import { writeJsonAtomic } from "../checkpoint/atomic.ts";
import { withFileLock } from "../file_lock.ts";
import { pathExists, readJsonFile } from "../fs.ts";
import { loadLabels, type RankRecord } from "../reward/labels.ts";
import { agreementWith, type ClassAgreement, classAgreement } from "./class_agreement.ts";
import { itemKey } from "./agreement.ts";
import { assignClassLists, type ClassAssignment, type ClassAssignmentConfig, resolveClassAssignment } from "./overlap.ts";
import { type LabelItem, LabelSession } from "./session.ts";

/** Why a join is refused (shown to the student), as opposed to a server fault. */
export class JoinError extends Error {}

/** The longest student name accepted. */
export const MAX_NAME_LENGTH = 40;

interface RosterEntry {
  readonly name: string;
  readonly slot: number;
  readonly token_sha256: string;
}

interface RosterFile {
  readonly session: string;
  readonly code: string;
  /** How the lists were spread: a restart with other settings would give the students other lists. */
  readonly assignment?: ClassAssignmentConfig;
  readonly students: RosterEntry[];
}

/** One student's progress, for the teacher's view. */
export interface StudentProgress {
  readonly name: string;
  readonly done: number;
  readonly total: number;
}

/** What the teacher's view shows. */
export interface ClassView {
  readonly session: string;
  readonly items: number;
  readonly overlap: number;
  /**
   * Lists outside the overlap set ranked by fewer than `perList` students so far: they are spread over the class
   * size the session was started with, so students who have not joined (or not finished) leave some short.
   */
  readonly shortOfRankers: number;
  readonly students: readonly StudentProgress[];
  readonly agreement: ClassAgreement;
  /** The reference labeler's (the simulated labeler's) agreement with each student, when one is given. */
  readonly reference?: { readonly labeler: string; readonly students: readonly { labeler: string; pairs: number; agreement: number }[] };
}

export interface ClassroomOptions {
  /** The session's ranking file (JSONL); the roster is kept beside it as `<file>.class.json`. */
  readonly labelsPath: string;
  /** The session's id, written on every line. */
  readonly session: string;
  /** Recorded as the checkpoint that sampled the answers. */
  readonly checkpoint: string;
  /** How lists are spread over the class. */
  readonly assignment?: Partial<ClassAssignmentConfig>;
  /** Rankings of the same items by a reference labeler (the simulated one), compared with each student on the teacher's view. */
  readonly reference?: readonly RankRecord[];
}

const sha256 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");

/** A join code: 6 characters a person reads off a projector without confusing 0/O or 1/I. */
function newJoinCode(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

/**
 * A class session over `items` (see above). `open` reads or creates the roster.
 *
 * @example
 * ```ts
 * import { Classroom } from "rlhf";
 * const item = { prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses: ["春风", "秋雨"] };
 * const labelsPath = `${await Deno.makeTempDir()}/class.jsonl`;
 * const room = await Classroom.open([item], { labelsPath, session: "class-1", checkpoint: "sft" });
 * const token = await room.join(room.code, "ann");
 * await (await room.student(token))!.rank([1, 0], { index: 0 }); // ann: 秋雨 above 春风, a line with labeler "ann"
 * ```
 */
export class Classroom {
  readonly code: string;
  readonly assignment: ClassAssignment;
  readonly #items: readonly LabelItem[];
  readonly #options: ClassroomOptions;
  readonly #roster: RosterEntry[];
  /** Sessions by token hash, made when a student first uses their token in this run. */
  readonly #sessions = new Map<string, LabelSession>();

  private constructor(items: readonly LabelItem[], options: ClassroomOptions, roster: RosterFile) {
    this.#items = items;
    this.#options = options;
    this.code = roster.code;
    this.#roster = [...roster.students];
    this.assignment = assignClassLists(items.length, options.assignment);
  }

  /** The roster file beside `labelsPath`. */
  static rosterPath(labelsPath: string): string {
    return `${labelsPath}.class.json`;
  }

  static async open(items: readonly LabelItem[], options: ClassroomOptions): Promise<Classroom> {
    if (items.length === 0) throw new Error("Classroom: no items to rank");
    const path = Classroom.rosterPath(options.labelsPath);
    const assignment = resolveClassAssignment(options.assignment);
    let roster: RosterFile;
    if (await pathExists(path)) {
      roster = checkRoster(await readJsonFile(path), path);
      if (roster.session !== options.session) {
        throw new Error(
          `${path}: belongs to session "${roster.session}", not "${options.session}"; name another --labels file or the same session`,
        );
      }
      const changed = (Object.keys(assignment) as (keyof ClassAssignmentConfig)[])
        .filter((k) => roster.assignment && roster.assignment[k] !== assignment[k])
        .map((k) => `${k}: ${roster.assignment![k]} → ${assignment[k]}`);
      if (changed.length) {
        throw new Error(`${path}: this session spread its lists otherwise (${changed.join(", ")}); start it with the same settings`);
      }
    } else {
      roster = { session: options.session, code: newJoinCode(), assignment, students: [] };
      await writeJsonAtomic(path, roster);
    }
    return new Classroom(items, options, roster);
  }

  /**
   * Joins a student: the code must be the session's and the name new (a taken name is refused, so nobody
   * writes under another student's name). Returns the student's token.
   */
  async join(code: string, name: string): Promise<string> {
    if (typeof code !== "string" || code.trim().toUpperCase() !== this.code) throw new JoinError("wrong join code");
    const trimmed = typeof name === "string" ? name.trim() : "";
    if (!trimmed || trimmed.length > MAX_NAME_LENGTH || /[\p{Cc}]/u.test(trimmed)) {
      throw new JoinError(`a name must be 1–${MAX_NAME_LENGTH} characters, on one line`);
    }
    if (trimmed.startsWith("simulated:")) throw new JoinError('names starting with "simulated:" belong to simulated labelers');
    const token = crypto.randomUUID();
    const hash = await sha256(token);
    await withFileLock(Classroom.rosterPath(this.#options.labelsPath), async () => {
      if (this.#roster.some((s) => s.name === trimmed)) throw new JoinError(`the name "${trimmed}" is taken in this class; pick another`);
      this.#roster.push({ name: trimmed, slot: this.#roster.length, token_sha256: hash });
      await writeJsonAtomic(Classroom.rosterPath(this.#options.labelsPath), {
        session: this.#options.session,
        code: this.code,
        assignment: resolveClassAssignment(this.#options.assignment),
        students: this.#roster,
      });
    });
    return token;
  }

  /** The student a token stands for, as a labelling session over their lists; undefined for an unknown token. */
  async student(token: string | null): Promise<LabelSession | undefined> {
    if (!token) return undefined;
    const hash = await sha256(token);
    const known = this.#sessions.get(hash);
    if (known) return known;
    const entry = this.#roster.find((s) => s.token_sha256 === hash);
    if (!entry) return undefined;
    const session = new LabelSession(this.assignment.queue(entry.slot).map((i) => this.#items[i]), {
      labelsPath: this.#options.labelsPath,
      labeler: entry.name,
      checkpoint: this.#options.checkpoint,
      session: this.#options.session,
    });
    this.#sessions.set(hash, session);
    return session;
  }

  /** Who joined, each one's progress, and the agreement so far (the teacher's view). */
  async view(): Promise<ClassView> {
    const lists = (await loadLabels(this.#options.labelsPath)).filter((l) => l.session === this.#options.session);
    const overlap = new Set(this.assignment.overlap.map((i) => itemKey(this.#items[i])));
    const students = this.#roster.map((s) => {
      const mine = new Set(this.assignment.queue(s.slot).map((i) => itemKey(this.#items[i])));
      const done = new Set(lists.filter((l) => l.labeler === s.name && mine.has(itemKey(l))).map(itemKey)).size;
      return { name: s.name, done, total: mine.size };
    });
    const reference = this.#options.reference;
    const rankers = new Map<string, number>();
    for (const l of lists) rankers.set(itemKey(l), (rankers.get(itemKey(l)) ?? 0) + 1);
    const perList = resolveClassAssignment(this.#options.assignment).perList;
    const others = this.#items.map(itemKey).filter((key) => !overlap.has(key));
    const base = {
      session: this.#options.session,
      items: this.#items.length,
      overlap: overlap.size,
      shortOfRankers: others.filter((key) => (rankers.get(key) ?? 0) < perList).length,
      students,
      agreement: classAgreement(lists, { overlap }),
    };
    if (!reference?.length) return base;
    const withReference = classAgreement([...lists, ...reference]);
    return { ...base, reference: { labeler: reference[0].labeler, students: agreementWith(withReference, reference[0].labeler) } };
  }
}

function checkRoster(value: unknown, path: string): RosterFile {
  const r = value as Partial<RosterFile>;
  const ok = typeof r === "object" && r !== null && typeof r.session === "string" && typeof r.code === "string" &&
    Array.isArray(r.students) &&
    r.students.every((s) => typeof s?.name === "string" && Number.isInteger(s.slot) && typeof s.token_sha256 === "string");
  if (!ok) throw new Error(`${path}: not a class roster (expected {"session", "code", "students": [{"name", "slot", "token_sha256"}]})`);
  return r as RosterFile;
}
