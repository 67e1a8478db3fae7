"""Where the Redis store keeps a namespace: its key names, the Lua scripts that run on them,
and the fingerprint salt every gateway on the namespace shares.

- Namespaces never overlap: a namespace is refused if it is empty or holds ``:`` or
  whitespace (``ValueError``). With ``:`` allowed, namespace ``a`` would list the keys of
  namespace ``a:h`` (``a:h:h:…`` starts with ``a:h:``). Glob characters are accepted here (the
  key listing escapes them, :func:`escape_glob`); the config refuses them as well
  (``state.namespace``).
- ``<namespace>:fingerprint-salt`` holds the salt of the state keys' fingerprints: the first
  one stored wins (:func:`shared_fingerprint_salt`, and the store's epoch script).
"""

from __future__ import annotations

import re

__all__ = [
    "CAS_LUA",
    "EPOCH_LUA",
    "TIMEOUT_S",
    "check_namespace",
    "escape_glob",
    "salt_name",
    "shared_fingerprint_salt",
]

#: How long any Redis call may take (connect, or wait for a reply), here and in the store.
TIMEOUT_S = 0.5
# ':' separates the namespace from the rest of a key; whitespace has no place in a key name.
_NAMESPACE_REFUSED = re.compile(r"[:\s]")

# KEYS[1]: the key, KEYS[2]: the namespace's epoch marker. ARGV: has_expected ("1"/"0"),
# expected value, new value ("" deletes), TTL in ms, the epoch this store works in. Returns {1}
# when written, {2} when the epoch is not ours (Redis lost the state: nothing is written),
# else {0, current value} so the caller can retry.
CAS_LUA = """
if redis.call('GET', KEYS[2]) ~= ARGV[5] then return {2} end
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return {0, cur} end
elseif cur then
  return {0, cur}
end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return {1}
"""

# KEYS[1]: the epoch marker, KEYS[2]: the fingerprint salt. ARGV[1]: a fresh token, stored only
# if there is none; ARGV[2]: this gateway's salt ("" if unknown), stored only if there is none.
# Returns {the stored token (the one every store on this namespace now works in), the stored
# salt (false if none)}.
EPOCH_LUA = """
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'NX') end
local salt = redis.call('GET', KEYS[2])
local cur = redis.call('GET', KEYS[1])
if cur then return {cur, salt} end
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], salt}
"""


def shared_fingerprint_salt(url: str, *, namespace: str, local: bytes) -> bytes:
    """The key-fingerprint salt every gateway on this Redis uses: the first one stored wins.

    State keys carry a salted key fingerprint, so gateways with different local salts would
    never share a key's cooldown. The config loader calls this for ``backend: "redis"``; if
    Redis cannot be reached it gets ``local`` back (the store then runs degraded anyway).
    """
    import redis

    try:
        check_namespace(namespace)
    except ValueError:  # the config reports it (state.namespace); touch no key meanwhile
        return local
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        name = salt_name(namespace)
        client.set(name, local, nx=True)
        stored = client.get(name)
    except (redis.RedisError, OSError):  # down, hung, or refusing writes: not usable now
        return local
    finally:
        client.close()
    return stored if isinstance(stored, bytes) and stored else local


def check_namespace(namespace: str) -> None:
    """Raise ``ValueError`` naming what is wrong with ``namespace`` (see the module doc)."""
    found = _NAMESPACE_REFUSED.search(namespace)
    if namespace and found is None:
        return
    what = f"{found.group()!r} in {namespace!r}" if found is not None else "an empty string"
    raise ValueError(
        f"redis state store namespace: found {what}; expected a non-empty name without ':' "
        "or whitespace (':' separates the namespace from its keys, so namespace 'a' would "
        "see the keys of namespace 'a:h')"
    )


def salt_name(namespace: str) -> str:
    return f"{namespace}:fingerprint-salt"


def escape_glob(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
