// drizzle-kit configuration: `bun run db:generate` writes SQL migrations to ./migrations from src/store/schema.ts,
// then hack/embed-migrations.ts embeds them into src/store/migrations.generated.ts for the compiled binary.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/store/schema.ts",
  out: "./migrations",
});
