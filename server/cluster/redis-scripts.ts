/**
 * The Lua scripts of the Redis adapter (./redis.ts), each one atomic step of the shared state. Key names are built
 * by `redisKeys`; scripts that touch keys of other channels or instances get the prefix and build them the same
 * way (so the adapter needs a standalone Redis or Sentinel, not Redis Cluster).
 *
 * Presence: `presence:<channel>` user id -> user_info JSON; `presence:<channel>:n` user id -> how many instances
 * hold a socket of the user; `instance:<id>:presence` "<channel>\n<user id>" -> 1 for each user the instance holds
 * (channel names have no newline), so a dead instance's members can be removed.
 */

/** Keys of one prefix. */
export function redisKeys(prefix: string) {
    return {
        bus: `${prefix}bus`,
        instances: `${prefix}instances`,
        heartbeat: (id: string) => `${prefix}instance:${id}`,
        instanceChannels: (id: string) => `${prefix}instance:${id}:channels`,
        instancePresence: (id: string) => `${prefix}instance:${id}:presence`,
        presence: (channel: string) => `${prefix}presence:${channel}`,
        presenceCount: (channel: string) => `${prefix}presence:${channel}:n`,
        seq: `${prefix}catchup:seq`,
        epoch: `${prefix}catchup:epoch`,
        catchupChannel: (channel: string) => `${prefix}catchup:ch:${channel}`,
        catchupPattern: `${prefix}catchup:ch:*`,
        rateLimit: (name: string, key: string) => `${prefix}rl:${name}:${key}`
    };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

export interface ScriptDefinition {
    numberOfKeys: number;
    lua: string;
}

/**
 * KEYS: instance presence, presence, presence count; ARGV: channel, user id, user_info JSON, 1 when the user's
 * first socket on this instance. Returns { 1 when the user is new on every instance, HGETALL of the members }.
 */
const presenceJoin: ScriptDefinition = {
    numberOfKeys: 3,
    lua: `
local first = 0
if ARGV[4] == '1' and redis.call('HSETNX', KEYS[1], ARGV[1] .. '\\n' .. ARGV[2], '1') == 1 then
  if redis.call('HINCRBY', KEYS[3], ARGV[2], 1) == 1 then first = 1 end
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
end
return { first, redis.call('HGETALL', KEYS[2]) }`
};

/** KEYS: instance presence, presence, presence count; ARGV: channel, user id. Returns 1 when it was the last. */
const presenceLeave: ScriptDefinition = {
    numberOfKeys: 3,
    lua: `
if redis.call('HDEL', KEYS[1], ARGV[1] .. '\\n' .. ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[3], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0`
};

/** Shared by `bury` and `resync`: one instance gives up a member; returns true when no instance holds it any more. */
const RELEASE = `
local function release(prefix, channel, user)
  local counts = prefix .. 'presence:' .. channel .. ':n'
  if redis.call('HINCRBY', counts, user, -1) <= 0 then
    redis.call('HDEL', counts, user)
    redis.call('HDEL', prefix .. 'presence:' .. channel, user)
    return true
  end
  return false
end
local function split(field)
  local at = string.find(field, '\\n', 1, true)
  return string.sub(field, 1, at - 1), string.sub(field, at + 1)
end`;

/**
 * A dead instance: KEYS: its presence, its channel counts, the instance set; ARGV: prefix, its id. Removes its
 * members and counts; returns the (channel, user id) pairs that no instance holds any more, flat.
 */
const bury: ScriptDefinition = {
    numberOfKeys: 3,
    lua: `${RELEASE}
local gone = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local channel, user = split(field)
  if release(ARGV[1], channel, user) then
    table.insert(gone, channel)
    table.insert(gone, user)
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
return gone`
};

/**
 * This instance's members again, after Redis was lost: KEYS: its presence; ARGV: prefix, the number L of members
 * that left this instance while Redis was unreachable, L "<channel>\n<user id>" fields, then (channel, user id,
 * user_info JSON) triples of every member it holds. Returns { members now new on every instance (channel, user),
 * members no instance holds any more that this instance held or saw leave (channel, user) }, flat.
 */
const resync: ScriptDefinition = {
    numberOfKeys: 1,
    lua: `${RELEASE}
local left = tonumber(ARGV[2])
local wanted = {}
for i = 3 + left, #ARGV, 3 do wanted[ARGV[i] .. '\\n' .. ARGV[i + 1]] = ARGV[i + 2] end
local back, gone, told = {}, {}, {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if wanted[field] == nil then
    redis.call('HDEL', KEYS[1], field)
    local channel, user = split(field)
    if release(ARGV[1], channel, user) then
      table.insert(gone, channel)
      table.insert(gone, user)
      told[field] = true
    end
  end
end
for i = 3, 2 + left do
  local field = ARGV[i]
  if wanted[field] == nil and not told[field] then
    local channel, user = split(field)
    local held = tonumber(redis.call('HGET', ARGV[1] .. 'presence:' .. channel .. ':n', user) or '0')
    if held <= 0 then
      table.insert(gone, channel)
      table.insert(gone, user)
    end
  end
end
for field, info in pairs(wanted) do
  if redis.call('HSETNX', KEYS[1], field, '1') == 1 then
    local channel, user = split(field)
    local counts = ARGV[1] .. 'presence:' .. channel .. ':n'
    if redis.call('HINCRBY', counts, user, 1) == 1 then
      table.insert(back, channel)
      table.insert(back, user)
    end
    redis.call('HSET', ARGV[1] .. 'presence:' .. channel, user, info)
  end
end
return { back, gone }`
};

/** KEYS: instance channel counts; ARGV: channel, +1 or -1. A count that reaches 0 is removed. */
const countSubscription: ScriptDefinition = {
    numberOfKeys: 1,
    lua: `
if redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2]) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`
};

/**
 * The next catch-up position: KEYS: seq, epoch; ARGV: an epoch to use when Redis has none (its data was lost or
 * this is the first instance). The position is Redis's clock in microseconds, strictly after the last one, so it
 * grows over every instance whatever their clocks. Returns { seq as text, epoch }.
 */
const nextPosition: ScriptDefinition = {
    numberOfKeys: 2,
    lua: `
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
local now = redis.call('TIME')
local seq = tonumber(now[1]) * 1000000 + tonumber(now[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if last >= seq then seq = last + 1 end
local text = string.format('%.0f', seq)
redis.call('SET', KEYS[1], text)
return { text, epoch }`
};

/**
 * Keeps a stamped notification and tells the other instances: KEYS: the channel's catch-up hash, seq; ARGV: action,
 * kept JSON, retention ms, bus channel, bus message, seq. The hash expires with the retention of its newest entry.
 */
const keep: ScriptDefinition = {
    numberOfKeys: 2,
    lua: `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[6]) > last then redis.call('SET', KEYS[2], ARGV[6]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`
};

/** KEYS: the counter; ARGV: window ms. Returns { hits, ms until the window ends }. */
const rateLimitHit: ScriptDefinition = {
    numberOfKeys: 1,
    lua: `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { hits, ttl }`
};

export const SCRIPTS = {
    nlPresenceJoin: presenceJoin,
    nlPresenceLeave: presenceLeave,
    nlBury: bury,
    nlResync: resync,
    nlCountSubscription: countSubscription,
    nlNextPosition: nextPosition,
    nlKeep: keep,
    nlRateLimitHit: rateLimitHit
} as const;

export type ScriptName = keyof typeof SCRIPTS;
