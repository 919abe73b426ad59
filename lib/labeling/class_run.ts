/**
 * The two ways `deno task label` runs a class session once its lists are
 * sampled: with people (a server on the teacher's address, the join code and
 * URLs printed) or simulated (N simulated students rank the same lists the
 * same way the class would, and the agreement is printed).
 */
import { appendLabels } from "../reward/labels.ts";
import { SimulatedLabeler } from "../reward/simulated_labeler.ts";
import { agreementLines, agreementWith, classAgreement, percent } from "./class_agreement.ts";
import { saveClassItems } from "./class_items.ts";
import { startClassServer } from "./class_server.ts";
import { Classroom } from "./classroom.ts";
import { itemKey } from "./agreement.ts";
import { assignClassLists, type ClassAssignmentConfig } from "./overlap.ts";
import { LABELER_MIXES, rankAsClass, type ScoredItem, simulatedClass } from "./simulated_class.ts";
import type { RankRecord } from "../reward/labels.ts";
import { renderUnicodeCompact } from "uqr";

export interface ClassRunOptions {
  readonly labelsPath: string;
  readonly session: string;
  readonly checkpoint: string;
  readonly items: readonly ScoredItem[];
  readonly assignment: Partial<ClassAssignmentConfig>;
  /** Write the items file (false when they were read from it). @default true */
  readonly saveItems?: boolean;
}

/** The simulated labeler of the pipeline (the task's own preference) ranking every item: the teacher's reference. */
export function referenceRankings(items: readonly ScoredItem[], checkpoint: string): RankRecord[] {
  return rankAsClass(items, [{ mix: LABELER_MIXES.bright, labeler: new SimulatedLabeler({ seed: 0 }) }], { checkpoint });
}

/** Serves the class session; returns once it listens (Ctrl-C stops it; everything saved stays). */
export async function runClassSession(options: ClassRunOptions & { host: string; port: number }): Promise<void> {
  if (options.saveItems ?? true) await saveClassItems(options.labelsPath, { checkpoint: options.checkpoint, items: options.items });
  const room = await Classroom.open(options.items.map(({ gold: _, ...item }) => item), {
    labelsPath: options.labelsPath,
    session: options.session,
    checkpoint: options.checkpoint,
    assignment: options.assignment,
    reference: referenceRankings(options.items, options.checkpoint),
  });
  const server = startClassServer(room, { hostname: options.host, host: options.host, port: options.port });
  console.log(
    `[label] class session ${options.session}: ${options.items.length} lists, ${room.assignment.overlap.length} ranked by everyone`,
  );
  console.log(`[label] students open  ${server.url}  and join with the code  ${room.code}`);
  console.log(joinQrCode(server.url));
  console.log(`[label] teacher's view ${server.teacherUrl}  (keep this address to yourself)`);
  console.log(
    `[label] rankings are saved to ${options.labelsPath} (Ctrl-C to stop; a restart keeps every ranking and every student's page)`,
  );
}

/** N simulated students rank the session's lists as the class would (overlap set, spread); prints the agreement. */
export async function simulateClassSession(
  options: ClassRunOptions & { students: number; mixes?: readonly string[] },
): Promise<RankRecord[]> {
  if (options.saveItems ?? true) await saveClassItems(options.labelsPath, { checkpoint: options.checkpoint, items: options.items });
  const assignment = assignClassLists(options.items.length, { ...options.assignment, students: options.students });
  const students = simulatedClass(options.students, { mixes: options.mixes, seed: options.assignment.seed });
  const lists = rankAsClass(options.items, students, { checkpoint: options.checkpoint, queue: assignment.queue, session: options.session });
  const added = await appendLabels(options.labelsPath, lists);
  const overlap = new Set(assignment.overlap.map((i) => itemKey(options.items[i])));
  const agreement = classAgreement(lists, { overlap });
  const reference = referenceRankings(options.items, options.checkpoint);
  console.log(
    `[label] ${options.students} simulated students (${students.map((s) => s.mix.name).join(", ")}) ranked ${lists.length} lists`,
  );
  console.log(`[label] ${options.labelsPath}: ${added} added (${lists.length - added} were there already)`);
  for (const line of agreementLines(agreement)) console.log(`[label] ${line}`);
  for (const r of agreementWith(classAgreement([...lists, ...reference]), reference[0].labeler)) {
    console.log(`[label]   the simulated labeler vs ${r.labeler}: ${percent(r.agreement)} on ${r.pairs} pairs`);
  }
  return lists;
}

/** The students' URL as a QR code in the terminal (two modules per character, a light border), for a phone's camera. */
export function joinQrCode(url: string): string {
  return renderUnicodeCompact(url, { border: 2 });
}
