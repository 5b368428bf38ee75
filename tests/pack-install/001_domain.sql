CREATE TABLE "credit_reservation" ("id" TEXT NOT NULL PRIMARY KEY, "state" TEXT NOT NULL);
