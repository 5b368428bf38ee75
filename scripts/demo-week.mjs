// The demo's scripted week, driven through Revenue's HTTP API. Also used by the end-to-end test.
import { v7 as uuidv7 } from "uuid";

const id = (prefix) => `${prefix}_${uuidv7()}`;

async function call(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Runs the week; returns who and what it created. `say` gets one progress line per step. */
export async function runWeek(base, say = () => {}) {
  const post = async (label, path, body, expectStatus = [200, 201]) => {
    const r = await call(base, "POST", path, body);
    if (!expectStatus.includes(r.status)) throw new Error(`${label}: ${r.status} ${JSON.stringify(r.body)}`);
    say(`${label.padEnd(58)} ${r.status === 409 ? `refused 409: ${r.body.error.message}` : "ok"}`);
    return r.body;
  };
  const people = { Ada: id("per"), Ben: id("per"), Cleo: id("per") };
  const personNames = Object.fromEntries(Object.entries(people).map(([name, p]) => [p, name]));
  const lessons = { "Tue swim": id("les"), "Wed swim": id("les"), "Thu swim": id("les"), "Fri swim": id("les") };
  const lessonNames = Object.fromEntries(Object.entries(lessons).map(([name, l]) => [l, name]));
  const at = (day) => new Date(Date.UTC(2026, 10, 23 + day, 16)).toISOString();
  const accounts = {};
  for (const [name, person] of Object.entries(people)) {
    accounts[name] = (await post(`Mon  ${name} opens a credit account`, "/accounts", { person_id: person })).id;
    await post(`Mon  ${name} buys 10 credits`, `/accounts/${accounts[name]}/purchases`, { credits: 10 });
  }
  const reserve = async (name, lesson, day) =>
    (
      await post(`Mon  ${name} books ${lesson}`, "/reservations", {
        account_id: accounts[name],
        lesson_id: lessons[lesson],
        organization_id: "org_sguild_pool",
        credits: 1,
        lesson_starts_at: at(day),
      })
    ).id;
  const r = {
    adaTue: await reserve("Ada", "Tue swim", 1),
    benTue: await reserve("Ben", "Tue swim", 1),
    cleoWed: await reserve("Cleo", "Wed swim", 2),
    adaThu: await reserve("Ada", "Thu swim", 3),
    benFri: await reserve("Ben", "Fri swim", 4),
    cleoFri: await reserve("Cleo", "Fri swim", 4),
  };
  for (const [key, source] of [
    ["adaTue", "credits_available"],
    ["benTue", "invoice_paid"],
    ["cleoWed", "invoice_paid"],
    ["adaThu", "credits_available"],
    ["cleoFri", "credits_available"],
  ]) {
    await post(`Mon  funding ${key}`, `/reservations/${r[key]}/fund`, { source });
  }
  for (const key of ["adaTue", "benTue", "cleoWed", "adaThu", "cleoFri"])
    await post(`T-48h lock ${key} (handoff on a Person's first lock)`, `/reservations/${r[key]}/lock`);
  await post("Tue  Ada's lesson is delivered (consumed)", `/reservations/${r.adaTue}/consume`);
  await post("Tue  Ben cancels late (forfeited)", `/reservations/${r.benTue}/forfeit`, { reason: "late_cancel" });
  await post("Wed  weather closes the pool: Cleo released", `/reservations/${r.cleoWed}/release`, {
    initiator: "system_weather",
    reason_code: "weather",
    reason_note: "thunderstorm",
  });
  await post("Wed  Cleo's refund starts", `/reservations/${r.cleoWed}/refund`, { reason: "weather", amount_cents: 4500 });
  await post("Wed  Cleo's refund settles", `/reservations/${r.cleoWed}/refund/complete`, { reason: "weather", amount_cents: 4500 });
  await post("Thu  Ada does not show up (forfeited)", `/reservations/${r.adaThu}/forfeit`, { reason: "no_show" });
  await post("Thu  consuming Ben's unlocked Friday lesson is illegal", `/reservations/${r.benFri}/consume`, undefined, [409]);
  await post("Thu  locking Ada's delivered lesson again is illegal", `/reservations/${r.adaTue}/lock`, undefined, [409]);
  return { people, personNames, lessons, lessonNames, reservations: r };
}

/** Coaching's availability the week must produce: Tue 1 (Ada's delivered lesson), Wed 0, Thu 0, Fri 2. */
export function expectedAvailability(week) {
  const held = { "Tue swim": 1, "Wed swim": 0, "Thu swim": 0, "Fri swim": 2 };
  return Object.entries(week.lessons)
    .map(([name, lesson]) => ({ lesson_id: lesson, held_slots: held[name] }))
    .sort((a, b) => a.lesson_id.localeCompare(b.lesson_id));
}
