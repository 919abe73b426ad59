/**
 * Which lists each student of a class ranks. A fixed overlap set (the same
 * lists for everyone, so agreement can be measured on them) goes to every
 * student; each of the other lists goes to `perList` students, spread round
 * the class so that every student gets about the same number. Each student
 * sees their lists in their own shuffled order (no order effect shared by
 * the class). Student s of a class of `students` is the s-th to join; a
 * student who joins after the class is full takes the place of student
 * s mod `students` (the same lists, their own order).
 */
import { hashText } from "../hash.ts";
import { Rng } from "../rng.ts";

export interface ClassAssignmentConfig {
  /** Lists every student ranks (the overlap set). @default 5 */
  readonly overlap: number;
  /** Students who rank each of the other lists. @default 2 */
  readonly perList: number;
  /** The class size the lists are spread over. @default 30 */
  readonly students: number;
  /** Which lists form the overlap set, and each student's order. @default 0 */
  readonly seed: number;
}

export const CLASS_ASSIGNMENT_DEFAULTS: Readonly<ClassAssignmentConfig> = Object.freeze({ overlap: 5, perList: 2, students: 30, seed: 0 });

/** The assignment's config with `overrides`, checked: each value's field is named when it is out of range. */
export function resolveClassAssignment(overrides: Partial<ClassAssignmentConfig> = {}): ClassAssignmentConfig {
  const c = { ...CLASS_ASSIGNMENT_DEFAULTS, ...overrides };
  for (const [field, min] of [["overlap", 0], ["perList", 1], ["students", 1], ["seed", 0]] as const) {
    if (!Number.isSafeInteger(c[field]) || c[field] < min) {
      throw new Error(`class assignment: "${field}" must be an integer ≥ ${min}, got ${c[field]}`);
    }
  }
  return c;
}

export interface ClassAssignment {
  /** Indices of the lists in the overlap set, ascending. */
  readonly overlap: readonly number[];
  /** Student s's lists (indices), in the order they are shown. */
  queue(student: number): number[];
}

/**
 * Assigns `lists` lists to a class (the rules above). When there are fewer lists than `overlap`, every list is shared.
 *
 * @example
 * ```ts
 * import { assignClassLists } from "rlhf";
 * const a = assignClassLists(20, { overlap: 5, perList: 2, students: 6 });
 * a.overlap.length; // 5: every student ranks these
 * a.queue(0).length; // 10: the 5 shared lists and 5 of the other 15 (15 × 2 / 6), shuffled
 * ```
 */
export function assignClassLists(lists: number, overrides: Partial<ClassAssignmentConfig> = {}): ClassAssignment {
  const c = resolveClassAssignment(overrides);
  const shuffled = new Rng(c.seed).shuffle(Array.from({ length: lists }, (_, i) => i));
  const overlap = shuffled.slice(0, c.overlap).sort((a, b) => a - b);
  const rest = shuffled.slice(c.overlap);
  const per = Math.min(c.perList, c.students);
  // List r goes to the `per` students after r × per, round the class: distinct students, even loads.
  const own = Array.from({ length: c.students }, () => [] as number[]);
  rest.forEach((list, r) => {
    for (let t = 0; t < per; t++) own[(r * per + t) % c.students].push(list);
  });
  return {
    overlap,
    queue: (student: number) => {
      if (!Number.isSafeInteger(student) || student < 0) {
        throw new Error(`class assignment: student must be an integer ≥ 0, got ${student}`);
      }
      const slot = student % c.students;
      return new Rng(hashText(`class order ${c.seed}:${student}`)).shuffle([...overlap, ...own[slot]]);
    },
  };
}
