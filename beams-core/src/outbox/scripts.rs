//! The Lua scripts that change the outbox. Each runs atomically in Redis, reads Redis' own
//! clock (so the replicas' clocks do not matter) and touches only keys under the outbox's
//! prefix, whose hash tag puts them all in one slot (Redis Cluster runs a script on one node).
//!
//! Keys, for the prefix `P`:
//! - `P:stream`: the stream of batches ready to send; each entry names a job (`j`) and one
//!   of its batches (`b`). Workers read it through one consumer group; an entry is acked and
//!   deleted as soon as its batch is settled, so the stream holds only what is waiting or in
//!   flight.
//! - `P:delayed`: batches scheduled for later (`send_at`, retries), scored by due time (ms).
//! - `P:dead`: dead letters (`<job>:<batch>`), scored by when they died.
//! - `P:job:<id>`: one hash per enqueued publish: `kind`, `notif`, `n` (batches), `left`
//!   (batches not finished), `dead`, `created`, `tag`, and per batch `i`: `t:i` (its targets),
//!   `s:i` (`q` queued, `p` published, `d` dead), `a:i` (attempts), `due:i` (next attempt),
//!   `sid:i` (the one stream entry that may send it), `p:i` (publish id), `e:i` (last error),
//!   `since:i` (when a replay restarted its age).
//! - `P:idem:<key>`: the job id first stored with an idempotency key.

/// Milliseconds of Redis' clock, as a local `now`.
const NOW: &str = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

fn with_clock(body: &str) -> redis::Script {
    redis::Script::new(&format!("{NOW}{body}"))
}

/// Stores a job. KEYS: job, stream, delayed, idempotency key. ARGV: id, kind, notification,
/// tag, delay ms, idempotency window ms (0: no key), then one JSON array of targets per
/// batch. Answers `{1, id}` when stored (or already stored by this same call, resent by the
/// client after a lost answer), `{0, first id}` for a repeated key.
pub(super) fn enqueue() -> redis::Script {
    with_clock(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  -- Only this very call can have stored this id (a v4 uuid): it is a resent call that ran.
  return {1, ARGV[1]}
end
local window = tonumber(ARGV[6])
if window > 0 then
  local first = redis.call('GET', KEYS[4])
  if first then return {0, first} end
  redis.call('SET', KEYS[4], ARGV[1], 'PX', window)
end
local n = #ARGV - 6
local delay = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'notif', ARGV[3], 'tag', ARGV[4], 'n', n,
  'left', n, 'dead', 0, 'created', now)
for i = 0, n - 1 do
  local b = tostring(i)
  redis.call('HSET', KEYS[1], 't:' .. b, ARGV[7 + i], 's:' .. b, 'q', 'a:' .. b, 0,
    'due:' .. b, now + delay, 'since:' .. b, now + delay)
  if delay > 0 then
    redis.call('ZADD', KEYS[3], now + delay, ARGV[1] .. ':' .. b)
  else
    local sid = redis.call('XADD', KEYS[2], '*', 'j', ARGV[1], 'b', b)
    redis.call('HSET', KEYS[1], 'sid:' .. b, sid)
  end
end
return {1, ARGV[1]}
",
    )
}

/// Takes work for one consumer: first entries idle longer than the claim time (their worker
/// died), then new ones. Entries whose batch is no longer queued, or that are not the
/// batch's current entry, are acked and dropped. KEYS: stream. ARGV: group, consumer, count,
/// claim idle ms, job key prefix (`P:job:`), claim cursor. Answers `{next claim cursor, how
/// many entries had lost their job, then (stream id, job, batch, kind, notification,
/// targets, attempts) per entry taken}`.
pub(super) fn take() -> redis::Script {
    redis::Script::new(
        r"
local out = {'0-0', 0}
local taken = 0
local function take(entries)
  for _, e in ipairs(entries) do
    if type(e) == 'table' then
      local sid, fields, j, b = e[1], e[2], nil, nil
      for k = 1, #fields, 2 do
        if fields[k] == 'j' then j = fields[k + 1] elseif fields[k] == 'b' then b = fields[k + 1] end
      end
      local h = {}
      if j and b then
        h = redis.call('HMGET', ARGV[5] .. j, 's:' .. b, 'sid:' .. b, 'kind', 'notif', 't:' .. b, 'a:' .. b)
      end
      if h[1] == 'q' and h[2] == sid then
        for _, v in ipairs({sid, j, b, h[3], h[4], h[5], h[6]}) do table.insert(out, v) end
        taken = taken + 1
      else
        if not h[1] then out[2] = out[2] + 1 end
        redis.call('XACK', KEYS[1], ARGV[1], sid)
        redis.call('XDEL', KEYS[1], sid)
      end
    end
  end
end
local count = tonumber(ARGV[3])
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[4], ARGV[6], 'COUNT', count)
out[1] = claimed[1]
take(claimed[2])
if taken < count then
  local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', count - taken,
    'STREAMS', KEYS[1], '>')
  if fresh then take(fresh[1][2]) end
end
return out
",
    )
}

/// Settles one attempt. KEYS: job, stream, delayed, dead. ARGV: stream id, group, batch,
/// mode (`p` published, `r` again later, unless it has been failing for the max age since
/// its first due time: then `d`; `d` dead), publish id or error, delay ms (`r`), max age ms, retention ms, dead-letter retention ms, member (`<job>:<batch>`). Answers
/// `published`, `retry`, `dead`, or `gone` when the entry was not (or no longer) the batch's.
pub(super) fn settle() -> redis::Script {
    with_clock(
        r"
redis.call('XACK', KEYS[2], ARGV[2], ARGV[1])
redis.call('XDEL', KEYS[2], ARGV[1])
local b = ARGV[3]
local h = redis.call('HMGET', KEYS[1], 's:' .. b, 'sid:' .. b, 'since:' .. b, 'created')
if h[1] ~= 'q' or h[2] ~= ARGV[1] then return 'gone' end
redis.call('HINCRBY', KEYS[1], 'a:' .. b, 1)
redis.call('HDEL', KEYS[1], 'sid:' .. b)
local mode = ARGV[4]
if mode == 'r' then
  local due = now + tonumber(ARGV[6])
  if now - tonumber(h[3] or h[4]) < tonumber(ARGV[7]) then
    redis.call('HSET', KEYS[1], 'due:' .. b, due, 'e:' .. b, ARGV[5])
    redis.call('ZADD', KEYS[3], due, ARGV[10])
    return 'retry'
  end
  mode = 'd'
end
local left = redis.call('HINCRBY', KEYS[1], 'left', -1)
local dead = 0
if mode == 'p' then
  redis.call('HSET', KEYS[1], 's:' .. b, 'p', 'p:' .. b, ARGV[5])
  redis.call('HDEL', KEYS[1], 't:' .. b, 'e:' .. b, 'due:' .. b)
  dead = tonumber(redis.call('HGET', KEYS[1], 'dead'))
else
  redis.call('HSET', KEYS[1], 's:' .. b, 'd', 'e:' .. b, ARGV[5])
  redis.call('HDEL', KEYS[1], 'due:' .. b)
  dead = redis.call('HINCRBY', KEYS[1], 'dead', 1)
  redis.call('ZADD', KEYS[4], now, ARGV[10])
end
if left <= 0 then
  if dead > 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[9])
  else
    redis.call('PEXPIRE', KEYS[1], ARGV[8])
  end
end
if mode == 'p' then return 'published' end
return 'dead'
",
    )
}

/// Keeps a taken entry from being claimed while its request is in flight: resets its idle
/// time, if this consumer still holds it. KEYS: stream. ARGV: group, consumer, stream id.
pub(super) fn touch() -> redis::Script {
    redis::Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #p == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
",
    )
}

/// Moves due batches into the stream, trims expired dead letters, and answers the sizes.
/// KEYS: delayed, stream, dead. ARGV: most to move, dead-letter retention ms, job key prefix.
/// Answers `{moved, pending, dead letters}`.
pub(super) fn promote() -> redis::Script {
    with_clock(
        r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  local sep = string.find(m, ':', 1, true)
  if sep then
    local j, b = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
    local job = ARGV[3] .. j
    if redis.call('HGET', job, 's:' .. b) == 'q' then
      local sid = redis.call('XADD', KEYS[2], '*', 'j', j, 'b', b)
      redis.call('HSET', job, 'sid:' .. b, sid)
    end
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[2]))
return {#due, redis.call('XLEN', KEYS[2]) + redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[3])}
",
    )
}

/// What a job is now. KEYS: job. Answers nil for an unknown (or expired) job, else
/// `{n, left, dead, tag, created, attempts, next due or '', last error or '', publish ids…}`.
pub(super) fn status() -> redis::Script {
    redis::Script::new(
        r"
local h = redis.call('HMGET', KEYS[1], 'n', 'left', 'dead', 'tag', 'created')
if not h[1] then return nil end
local attempts, next_due, err = 0, nil, ''
local ids = {}
for i = 0, tonumber(h[1]) - 1 do
  local b = tostring(i)
  local f = redis.call('HMGET', KEYS[1], 's:' .. b, 'a:' .. b, 'due:' .. b, 'p:' .. b, 'e:' .. b)
  attempts = attempts + tonumber(f[2] or 0)
  if f[1] == 'q' and f[3] and (not next_due or tonumber(f[3]) < next_due) then next_due = tonumber(f[3]) end
  if f[1] == 'p' then table.insert(ids, f[4]) end
  if f[5] and (err == '' or f[1] == 'd') then err = f[5] end
end
local out = {h[1], h[2], h[3], h[4] or '', h[5], attempts, next_due and tostring(next_due) or '', err}
for _, id in ipairs(ids) do table.insert(out, id) end
return out
",
    )
}

/// Sends a dead letter again (its age restarts). KEYS: job, stream, dead. ARGV: member,
/// batch, job id. Answers 1, or 0 when it is not a dead letter.
pub(super) fn replay() -> redis::Script {
    with_clock(
        r"
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
local b = ARGV[2]
if redis.call('HGET', KEYS[1], 's:' .. b) ~= 'd' or not redis.call('HEXISTS', KEYS[1], 't:' .. b) then
  return 0
end
redis.call('PERSIST', KEYS[1])
redis.call('HINCRBY', KEYS[1], 'dead', -1)
redis.call('HINCRBY', KEYS[1], 'left', 1)
local sid = redis.call('XADD', KEYS[2], '*', 'j', ARGV[3], 'b', b)
redis.call('HSET', KEYS[1], 's:' .. b, 'q', 'since:' .. b, now, 'due:' .. b, now, 'sid:' .. b, sid)
return 1
",
    )
}

/// Forgets a dead letter: out of the list, its targets dropped (its job's status stays
/// `dead`). KEYS: job, dead. ARGV: member, batch. Answers 1, or 0 when it was not listed.
pub(super) fn delete_dead() -> redis::Script {
    redis::Script::new(
        r"
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[1], 't:' .. ARGV[2])
return 1
",
    )
}

/// Lists dead letters, oldest first. KEYS: dead. ARGV: start, count, job key prefix.
/// Answers a flat array of (member, died at ms, attempts, error, tag).
pub(super) fn dead_letters() -> redis::Script {
    redis::Script::new(
        r"
local out = {}
local members = redis.call('ZRANGE', KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1, 'WITHSCORES')
for k = 1, #members, 2 do
  local m = members[k]
  local sep = string.find(m, ':', 1, true)
  if sep then
    local b = string.sub(m, sep + 1)
    local f = redis.call('HMGET', ARGV[3] .. string.sub(m, 1, sep - 1), 'a:' .. b, 'e:' .. b, 'tag')
    for _, v in ipairs({m, members[k + 1], f[1] or '0', f[2] or '', f[3] or ''}) do table.insert(out, v) end
  end
end
return out
",
    )
}

/// The outbox's sizes, read only. KEYS: stream, delayed, dead. Answers `{pending, dead
/// letters}`.
pub(super) fn sizes() -> redis::Script {
    redis::Script::new(
        r"
return {redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3])}
",
    )
}

/// Removes consumers that hold nothing and have been idle longer than ARGV[2] ms (the
/// names of stopped or dead workers). KEYS: stream. ARGV: group, idle ms. Answers how many.
pub(super) fn reap() -> redis::Script {
    redis::Script::new(
        r"
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for k = 1, #c, 2 do f[c[k]] = c[k + 1] end
  if tonumber(f['pending']) == 0 and tonumber(f['idle']) > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
return removed
",
    )
}

/// A stopping worker leaves the group: every entry it still holds (its requests cut off at
/// the drain timeout, or a take whose answer it never read) that is still its batch's current
/// entry is acked, deleted and added again as a new entry, which any worker takes next; then
/// the consumer is removed. Entries another worker has claimed meanwhile are not its own any
/// more and are left alone. KEYS: stream. ARGV: group, consumer, job key prefix. Answers how
/// many entries were handed back.
pub(super) fn leave() -> redis::Script {
    redis::Script::new(
        r"
local n = 0
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 10000, ARGV[2])) do
  local sid = p[1]
  local e = redis.call('XRANGE', KEYS[1], sid, sid)
  redis.call('XACK', KEYS[1], ARGV[1], sid)
  if #e > 0 then
    redis.call('XDEL', KEYS[1], sid)
    local f, j, b = e[1][2], nil, nil
    for i = 1, #f, 2 do
      if f[i] == 'j' then j = f[i + 1] elseif f[i] == 'b' then b = f[i + 1] end
    end
    if j and b then
      local job = ARGV[3] .. j
      local h = redis.call('HMGET', job, 's:' .. b, 'sid:' .. b)
      if h[1] == 'q' and h[2] == sid then
        local again = redis.call('XADD', KEYS[1], '*', 'j', j, 'b', b)
        redis.call('HSET', job, 'sid:' .. b, again)
        n = n + 1
      end
    end
  end
end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return n
",
    )
}
