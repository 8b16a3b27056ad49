// Visit (tg-visit) store and password-check cache of the FAS emulator.
#include "fas_detail.hpp"
#include "fas_internal.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace fedora::emulator::fas_detail {

session_store::entry::entry(std::string k) : key(std::move(k)), csrf(sha1_hex(key)) {}

session_store::session_store(std::chrono::microseconds timeout, std::size_t max_sessions)
    : timeout_us_(timeout.count()),
      per_shard_max_(std::max<std::size_t>(max_sessions / shard_count, 1))
{
}

session_store::shard& session_store::shard_for(std::string_view key) const
{
    return shards_[transparent_hash{}(key) % shard_count];
}

std::shared_ptr<session_store::entry> session_store::visit(std::string_view presented,
                                                           std::int64_t now_us)
{
    if (!presented.empty()) {
        auto& s = shard_for(presented);
        std::shared_lock lock(s.mutex);
        auto it = s.map.find(presented);
        if (it != s.map.end() && it->second->expiry_us.load(std::memory_order_relaxed) > now_us) {
            it->second->expiry_us.store(now_us + timeout_us_, std::memory_order_relaxed);
            return it->second;
        }
    }
    auto e = std::make_shared<entry>(random_visit_key());
    e->expiry_us.store(now_us + timeout_us_, std::memory_order_relaxed);
    auto& s = shard_for(e->key);
    std::unique_lock lock(s.mutex);
    if (s.map.size() >= per_shard_max_) make_room(s, now_us);
    s.map.emplace(e->key, e);
    return e;
}

void session_store::make_room(shard& s, std::int64_t now_us)
{
    // Expired visits first (TG's own cleanup), then anonymous ones, then anything: the cap
    // exists so that a benchmark of cookie-less requests cannot grow memory without bound.
    std::erase_if(s.map, [&](const auto& kv) {
        return kv.second->expiry_us.load(std::memory_order_relaxed) <= now_us;
    });
    if (s.map.size() < per_shard_max_) return;
    std::erase_if(s.map, [](const auto& kv) {
        return kv.second->user_id.load(std::memory_order_relaxed) == 0;
    });
    while (s.map.size() >= per_shard_max_) s.map.erase(s.map.begin());
}

std::shared_ptr<session_store::entry> session_store::find(std::string_view key,
                                                          std::int64_t now_us) const
{
    auto& s = shard_for(key);
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(key);
    if (it == s.map.end() || it->second->expiry_us.load(std::memory_order_relaxed) <= now_us)
        return nullptr;
    return it->second;
}

std::size_t session_store::size() const
{
    std::size_t n = 0;
    for (auto& s : shards_) {
        std::shared_lock lock(s.mutex);
        n += s.map.size();
    }
    return n;
}

bool password_cache::verify(std::string_view password, std::string_view hash)
{
    if (password.empty() || hash.empty()) return false;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) throw std::bad_alloc();
    const unsigned char sep = 0;
    bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(ctx, hash.data(), hash.size()) == 1 &&
              EVP_DigestUpdate(ctx, &sep, 1) == 1 &&
              EVP_DigestUpdate(ctx, password.data(), password.size()) == 1 &&
              EVP_DigestFinal_ex(ctx, md, &len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) throw std::runtime_error("SHA-256 failed");
    std::string digest(reinterpret_cast<const char*>(md), len);

    auto& s = shards_[static_cast<unsigned char>(digest[0]) % shard_count];
    {
        std::lock_guard lock(s.mutex);
        if (s.good.count(digest) != 0) return true;
    }
    if (!fas_verify_password(password, hash)) return false;
    std::lock_guard lock(s.mutex);
    if (s.good.size() >= max_per_shard) s.good.clear();
    s.good.insert(std::move(digest));
    return true;
}

bool person_json_cache::append_to(std::string& out, std::uint64_t key,
                                  std::uint64_t generation) const
{
    auto& s = shards_[key % shard_count];
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(key);
    if (it == s.map.end() || it->second.first != generation) return false;
    out += it->second.second;
    return true;
}

void person_json_cache::store(std::uint64_t key, std::uint64_t generation, std::string json)
{
    auto& s = shards_[key % shard_count];
    std::unique_lock lock(s.mutex);
    if (s.map.size() >= max_per_shard && s.map.count(key) == 0) s.map.clear(); // bounded, simple
    s.map.insert_or_assign(key, std::pair<std::uint64_t, std::string>(generation, std::move(json)));
}

} // namespace fedora::emulator::fas_detail
