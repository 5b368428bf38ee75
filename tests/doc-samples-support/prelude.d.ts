// Names the docs' samples use without defining them (the reader's own code).
declare const prisma: import("./generated/prisma/client.js").PrismaClient;
declare const payload: any;
declare const personId: string;
declare const reservationId: string;
declare const lessonId: string;
declare const id: string;
declare const session: (request: Request) => Promise<{ isOperator: boolean } | undefined>;
declare const registry: import("prom-client").Registry;
declare const emitA: import("@sguild/dispatcher").Emit;
declare const emitB: import("@sguild/dispatcher").Emit;
