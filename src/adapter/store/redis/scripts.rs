//! The Lua scripts. Each runs atomically in Redis, so a version check and the
//! write it guards cannot be split by another writer.

/// Writes one call if its version is newer than the stored one.
///
/// KEYS: call, tenant live, tenant calls, tenant ended, gateway live.
/// ARGV: version, record JSON, state, ended (`1`/`0`), score, call id,
/// ended TTL (s), gateway instance, gateway member, gateway key prefix,
/// fencing token (0 without HA).
/// Returns 1 written, 0 stale (not newer), -1 refused (would revive an ended
/// call), -2 fenced (a newer lease holder wrote the call).
pub(super) const PUT: &str = r#"
local cur = redis.call('HMGET', KEYS[1], 'v', 'ended', 'gw', 'f')
if cur[1] then
  if cur[4] and tonumber(cur[4]) > tonumber(ARGV[11]) then return -2 end
  if tonumber(cur[1]) >= tonumber(ARGV[1]) then return 0 end
  if cur[2] == '1' and ARGV[4] ~= '1' then return -1 end
  if cur[3] and cur[3] ~= ARGV[8] then
    redis.call('ZREM', ARGV[10] .. cur[3] .. ':live', ARGV[9])
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'record', ARGV[2], 'state', ARGV[3],
  'ended', ARGV[4], 'gw', ARGV[8], 'f', ARGV[11])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
local now = tonumber(redis.call('TIME')[1])
if ARGV[4] == '1' then
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('ZREM', KEYS[2], ARGV[6])
  redis.call('ZREM', KEYS[5], ARGV[9])
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[7]), ARGV[6])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[9])
end
-- Ended calls whose record has expired leave the list index, a bounded
-- batch per write so no write pays for a long backlog.
local gone = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 100)
if #gone > 0 then
  redis.call('ZREM', KEYS[3], unpack(gone))
  redis.call('ZREM', KEYS[4], unpack(gone))
end
return 1
"#;

/// One page of a tenant's calls, newest first.
///
/// KEYS: tenant calls. ARGV: call key prefix, cursor call id (or empty),
/// state (or empty), how many to return, how many calls to look at at most.
/// Returns `{resume, records}`: up to that many record JSONs (the caller
/// asks for one more than the page to learn whether another page follows),
/// and, when the look-at bound stopped the walk first, the id to resume
/// after (else empty). The bound keeps a filter that matches little from
/// walking a tenant's whole index in one script, which would stall the
/// Redis every instance shares.
pub(super) const LIST: &str = r#"
local max = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local looked = 0
local last = ''
local top = '+inf'
local skipping = false
if ARGV[2] ~= '' then
  local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if s then top = s; skipping = true end
end
local out = {}
local offset = 0
local chunk = 200
while #out < max do
  local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], top, '-inf', 'LIMIT', offset, chunk)
  for _, id in ipairs(ids) do
    if skipping then
      -- Same-score entries come in descending id order: those before the
      -- cursor were on earlier pages.
      if id == ARGV[2] then skipping = false end
    elseif #out < max then
      if looked >= budget then return {last, out} end
      looked = looked + 1
      last = id
      local r = redis.call('HMGET', ARGV[1] .. id, 'state', 'record')
      if not r[2] then
        redis.call('ZREM', KEYS[1], id)
        offset = offset - 1
      elseif ARGV[3] == '' or r[1] == ARGV[3] then
        out[#out + 1] = r[2]
      end
    end
  end
  if #ids < chunk then break end
  offset = offset + chunk
end
return {'', out}
"#;
