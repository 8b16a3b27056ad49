// Internal pieces of the FAS application: the visit (session) store, the password-check
// cache and the JSON renderers of people, groups and roles. Not installed, not API.
#pragma once

#include <fedora/emulator/fas.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace fedora::emulator::fas_detail {

struct transparent_hash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept
    {
        return std::hash<std::string_view>{}(s);
    }
};

// TurboGears' visit table: key -> (expiry, linked user). Sharded so that concurrent requests
// on different sessions rarely meet; a request on a live session only takes a shared lock
// (expiry and link are atomics), so the hot path never serialises.
class session_store
{
public:
    struct entry
    {
        explicit entry(std::string k);
        const std::string key;
        const std::string csrf;                  // sha1hex(key), computed once
        std::atomic<std::int64_t> expiry_us{0};  // system_clock micros
        std::atomic<std::int64_t> user_id{0};    // 0 = anonymous visit
    };

    session_store(std::chrono::microseconds timeout, std::size_t max_sessions);

    // The live session named by `presented` with its expiry moved to now + timeout, or a
    // fresh session when the key is unknown or expired (clients never choose their key).
    std::shared_ptr<entry> visit(std::string_view presented, std::int64_t now_us);
    // Lookup without refreshing (tests).
    std::shared_ptr<entry> find(std::string_view key, std::int64_t now_us) const;
    std::size_t size() const;

private:
    struct shard
    {
        mutable std::shared_mutex mutex;
        std::unordered_map<std::string, std::shared_ptr<entry>, transparent_hash, std::equal_to<>> map;
    };
    shard& shard_for(std::string_view key) const;
    void make_room(shard& s, std::int64_t now_us);

    static constexpr std::size_t shard_count = 16;
    mutable std::array<shard, shard_count> shards_;
    std::int64_t timeout_us_;
    std::size_t per_shard_max_;
};

// Remembers (hash, password) pairs that verified, as SHA-256 digests. MD5-crypt costs
// ~1000 MD5 rounds, and python-fedora re-sends the password with every call; without this a
// benchmark of password-authenticated calls would measure crypt(), not the emulator.
class password_cache
{
public:
    bool verify(std::string_view password, std::string_view hash);

private:
    static constexpr std::size_t shard_count = 8;
    static constexpr std::size_t max_per_shard = 8192;
    struct shard
    {
        std::mutex mutex;
        std::unordered_set<std::string> good;
    };
    std::array<shard, shard_count> shards_;
};

// filter_private() visibility levels, from least to most (each sees a superset).
enum class view_level : std::uint8_t { anonymous, privacy, pub, self, admin };

// Serialized person objects (filter_private() + membership lists) by (person, level,
// thirdparty), valid for one directory generation. json/person_by_* is the benchmarked read
// path, and rebuilding ~200 JSON values per request would dominate it.
class person_json_cache
{
public:
    static std::uint64_t key(std::int64_t person_id, view_level level, bool thirdparty) noexcept
    {
        return (static_cast<std::uint64_t>(person_id) << 4) |
               (static_cast<std::uint64_t>(level) << 1) | (thirdparty ? 1u : 0u);
    }
    // Appends the cached text and returns true when it is there for this generation.
    bool append_to(std::string& out, std::uint64_t key, std::uint64_t generation) const;
    void store(std::uint64_t key, std::uint64_t generation, std::string json);

private:
    static constexpr std::size_t shard_count = 16;
    static constexpr std::size_t max_per_shard = 512;
    struct shard
    {
        mutable std::shared_mutex mutex;
        std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::string>> map;
    };
    mutable std::array<shard, shard_count> shards_;
};

using boost::json::object;
using boost::json::storage_ptr;

// The 17 group columns.
object group_object(const fas_group& g, const storage_ptr& sp);
// The 8 person_roles columns.
object role_object(const fas_role& r, std::int64_t person_id, const storage_ptr& sp);
// All-null versions, for /user/list's LEFT JOIN quirk.
object null_group_object(const storage_ptr& sp);
object null_role_object(const storage_ptr& sp);

// Every "complete" person field: visible ones with their value, hidden ones null, a hidden
// password as "*". thirdparty adds ssh_key at any level.
void put_person_fields(object& out, const fas_person& p, view_level level, bool thirdparty);
// The value of one complete field as the level allows; false if `name` is not a field.
bool put_person_field(object& out, std::string_view name, const fas_person& p,
                      view_level level, bool thirdparty);
bool is_person_field(std::string_view name) noexcept;

// People.filter_private(): fields + group_roles (name -> role) + memberships + roles.
object person_private(const fas_directory::reader& r, const fas_person& p, view_level level,
                      bool thirdparty, const storage_ptr& sp);
// approved_memberships / unapproved_memberships lists of group objects.
void put_membership_lists(object& out, const fas_directory::reader& r, const fas_person& p);

} // namespace fedora::emulator::fas_detail
