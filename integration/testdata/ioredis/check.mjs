// Talks to the rcache node on 127.0.0.1:$PORT with ioredis the way an
// application would, and exits non-zero on the first wrong answer.
import Redis from "ioredis";

const redis = new Redis({ host: "127.0.0.1", port: Number(process.env.PORT), lazyConnect: true, maxRetriesPerRequest: 0 });

function expect(what, got, want) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    console.error(`${what} = ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    process.exit(1);
  }
}

await redis.connect();
expect("GET scores:Tom", await redis.get("scores:Tom"), "630");
expect("GET scores:Nobody", await redis.get("scores:Nobody"), null);
expect("SET", await redis.set("ioredis:k", "v", "EX", 60), "OK");
expect("MGET", await redis.mget("scores:Jack", "ioredis:k", "missing"), ["589", "v", null]);
expect("INCR", await redis.incr(`ioredis:${process.env.PORT}:n`), 1);
expect("DEL", await redis.del("ioredis:k"), 1);
const pipe = await redis.pipeline().get("scores:Sam").ping().exec();
expect("pipeline", pipe.map(([err, v]) => [err && err.message, v]), [[null, "567"], [null, "PONG"]]);
try {
  await redis.call("NOSUCHCOMMAND");
  console.error("NOSUCHCOMMAND succeeded");
  process.exit(1);
} catch (e) {
  expect("unknown command error", e.message.startsWith("ERR unknown command"), true);
}
expect("INFO has cluster_members", (await redis.info("cluster")).includes("cluster_members:"), true);
await redis.quit();
console.log("ioredis ok");
