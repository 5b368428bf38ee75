import type { PrismaClient } from "../db.js";

export interface LessonAvailability {
  lesson_id: string;
  held_slots: number;
}

/** Slots held per lesson (lessons whose claims were all released show 0). */
export async function availability(prisma: PrismaClient): Promise<LessonAvailability[]> {
  const rows = await prisma.$queryRaw<Array<{ lesson_id: string; held: number }>>`
    SELECT lesson_id, count(*) FILTER (WHERE status = 'held')::int AS held FROM slot_claim
    WHERE lesson_id IS NOT NULL GROUP BY lesson_id ORDER BY lesson_id`;
  return rows.map((r) => ({ lesson_id: r.lesson_id, held_slots: Number(r.held) }));
}
