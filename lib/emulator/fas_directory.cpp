// fas_directory: the in-memory FAS database, its generator and its JSON fixture loader.
#include <fedora/emulator/fas.hpp>

#include "fas_detail.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <charconv>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace fedora::emulator {

namespace json = boost::json;
using namespace std::chrono;

// ---------------------------------------------------------------------------------------
// enums and time
// ---------------------------------------------------------------------------------------

std::string_view to_string(fas_role_type t) noexcept
{
    switch (t) {
    case fas_role_type::user: return "user";
    case fas_role_type::sponsor: return "sponsor";
    case fas_role_type::administrator: return "administrator";
    }
    return "user";
}

std::string_view to_string(fas_role_status s) noexcept
{
    return s == fas_role_status::approved ? "approved" : "unapproved";
}

namespace {
constexpr std::array<std::string_view, 8> status_names = {
    "active", "inactive", "expired", "admin_disabled", "bot",
    "spamcheck_awaiting", "spamcheck_manual", "spamcheck_denied"};

constexpr std::array<std::string_view, 15> group_type_names = {
    "cla", "system", "bugzilla", "cvs", "bzr", "git", "hg", "mtn", "svn",
    "shell", "torrent", "tracker", "tracking", "user", "pkgdb"};
} // namespace

std::string_view to_string(fas_account_status s) noexcept
{
    return status_names[static_cast<std::size_t>(s)];
}

std::optional<fas_role_type> parse_role_type(std::string_view s) noexcept
{
    if (s == "user") return fas_role_type::user;
    if (s == "sponsor") return fas_role_type::sponsor;
    if (s == "administrator") return fas_role_type::administrator;
    return std::nullopt;
}

std::optional<fas_role_status> parse_role_status(std::string_view s) noexcept
{
    if (s == "approved") return fas_role_status::approved;
    if (s == "unapproved") return fas_role_status::unapproved;
    return std::nullopt;
}

std::optional<fas_account_status> parse_account_status(std::string_view s) noexcept
{
    for (std::size_t i = 0; i < status_names.size(); ++i)
        if (status_names[i] == s) return static_cast<fas_account_status>(i);
    return std::nullopt;
}

std::span<const std::string_view> fas_group_types() noexcept
{
    return group_type_names;
}

namespace {

void put_digits(std::string& out, long long v, int width)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v < 0 ? -v : v);
    if (v < 0) out += '-';
    for (auto n = static_cast<int>(r.ptr - buf); n < width; ++n) out += '0';
    out.append(buf, r.ptr);
}

} // namespace

std::string format_fas_time(fas_time t)
{
    auto day = floor<days>(t);
    year_month_day ymd{day};
    auto us = (t - day).count(); // microseconds into the day
    long long secs = us / 1'000'000;
    long long frac = us % 1'000'000;
    std::string out;
    out.reserve(32);
    put_digits(out, static_cast<int>(ymd.year()), 4);
    out += '-';
    put_digits(out, static_cast<unsigned>(ymd.month()), 2);
    out += '-';
    put_digits(out, static_cast<unsigned>(ymd.day()), 2);
    out += ' ';
    put_digits(out, secs / 3600, 2);
    out += ':';
    put_digits(out, secs / 60 % 60, 2);
    out += ':';
    put_digits(out, secs % 60, 2);
    if (frac != 0) {
        out += '.';
        put_digits(out, frac, 6);
    }
    out += "+00:00";
    return out;
}

std::optional<fas_time> parse_fas_time(std::string_view s) noexcept
{
    auto num = [&](std::size_t pos, std::size_t len, int& v) {
        if (pos + len > s.size()) return false;
        v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            v = v * 10 + (s[i] - '0');
        }
        return true;
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (!num(0, 4, y) || s.size() < 10 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
        !num(8, 2, d))
        return std::nullopt;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    std::size_t pos = 10;
    long long micros = 0;
    if (pos < s.size() && (s[pos] == ' ' || s[pos] == 'T')) {
        if (!num(pos + 1, 2, h) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !num(pos + 4, 2, mi) || pos + 6 >= s.size() || s[pos + 6] != ':' ||
            !num(pos + 7, 2, se) || h > 23 || mi > 59 || se > 60)
            return std::nullopt;
        pos += 9;
        if (pos < s.size() && s[pos] == '.') {
            ++pos;
            int digits = 0;
            while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
                if (digits < 6) {
                    micros = micros * 10 + (s[pos] - '0');
                    ++digits;
                }
                ++pos;
            }
            if (digits == 0) return std::nullopt;
            for (; digits < 6; ++digits) micros *= 10;
        }
    }
    std::string_view rest = s.substr(pos);
    if (!(rest.empty() || rest == "+00:00" || rest == "Z" || rest == "+0000"))
        return std::nullopt;
    return fas_time{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{se} + microseconds{micros};
}

// ---------------------------------------------------------------------------------------
// passwords and tokens
// ---------------------------------------------------------------------------------------

namespace {

constexpr char crypt_alphabet[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// One fetched MD5 implementation for the process: OpenSSL 3 would otherwise look it up in the
// provider store on every EVP_DigestInit (1000 times per crypt).
const EVP_MD* md5_impl()
{
    static EVP_MD* md = [] {
        EVP_MD* m = EVP_MD_fetch(nullptr, "MD5", nullptr);
        if (m == nullptr) throw std::runtime_error("OpenSSL has no MD5 (needed for MD5-crypt)");
        return m;
    }();
    return md;
}

struct md_ctx
{
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    md_ctx()
    {
        if (ctx == nullptr) throw std::bad_alloc();
    }
    ~md_ctx() { EVP_MD_CTX_free(ctx); }
    md_ctx(const md_ctx&) = delete;
    md_ctx& operator=(const md_ctx&) = delete;
    void init()
    {
        if (EVP_DigestInit_ex(ctx, md5_impl(), nullptr) != 1)
            throw std::runtime_error("EVP_DigestInit_ex(MD5) failed");
    }
    void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx, p, n); }
    void update(std::string_view s) { update(s.data(), s.size()); }
    void final(unsigned char* out)
    {
        unsigned int len = 0;
        EVP_DigestFinal_ex(ctx, out, &len);
    }
};

} // namespace

std::string fas_crypt_md5(std::string_view pw, std::string_view salt)
{
    constexpr std::string_view magic = "$1$";
    if (salt.starts_with(magic)) salt.remove_prefix(magic.size());
    salt = salt.substr(0, std::min(salt.find('$'), std::size_t{8}));

    md_ctx ctx, alt;
    unsigned char fin[16];
    alt.init();
    alt.update(pw);
    alt.update(salt);
    alt.update(pw);
    alt.final(fin);

    ctx.init();
    ctx.update(pw);
    ctx.update(magic);
    ctx.update(salt);
    for (auto pl = static_cast<long>(pw.size()); pl > 0; pl -= 16)
        ctx.update(fin, static_cast<std::size_t>(std::min(pl, 16L)));
    const unsigned char zero = 0;
    for (std::size_t i = pw.size(); i != 0; i >>= 1) {
        if (i & 1) ctx.update(&zero, 1);
        else ctx.update(pw.data(), 1);
    }
    ctx.final(fin);

    for (int i = 0; i < 1000; ++i) {
        alt.init();
        if (i & 1) alt.update(pw);
        else alt.update(fin, 16);
        if (i % 3) alt.update(salt);
        if (i % 7) alt.update(pw);
        if (i & 1) alt.update(fin, 16);
        else alt.update(pw);
        alt.final(fin);
    }

    std::string out(magic);
    out += salt;
    out += '$';
    auto to64 = [&](unsigned long v, int n) {
        while (n-- > 0) {
            out += crypt_alphabet[v & 0x3f];
            v >>= 6;
        }
    };
    to64((static_cast<unsigned long>(fin[0]) << 16) | (fin[6] << 8) | fin[12], 4);
    to64((static_cast<unsigned long>(fin[1]) << 16) | (fin[7] << 8) | fin[13], 4);
    to64((static_cast<unsigned long>(fin[2]) << 16) | (fin[8] << 8) | fin[14], 4);
    to64((static_cast<unsigned long>(fin[3]) << 16) | (fin[9] << 8) | fin[15], 4);
    to64((static_cast<unsigned long>(fin[4]) << 16) | (fin[10] << 8) | fin[5], 4);
    to64(fin[11], 2);
    return out;
}

bool fas_verify_password(std::string_view password, std::string_view hash)
{
    if (password.empty() || hash.empty() || !hash.starts_with("$1$")) return false;
    std::string computed = fas_crypt_md5(password, hash);
    return computed.size() == hash.size() &&
           CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

std::string fas_csrf_token(std::string_view visit_key)
{
    return fas_detail::sha1_hex(visit_key);
}

// ---------------------------------------------------------------------------------------
// storage
// ---------------------------------------------------------------------------------------

namespace {

struct string_hash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept
    {
        return std::hash<std::string_view>{}(s);
    }
};

using name_index = std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>>;

} // namespace

namespace {

// Allocator for the people table: with transparent huge pages in "madvise" mode (Debian's
// default) a 200k-person table is 200 MB, and faulting it in 4 KiB at a time costs more than
// generating the data. Large blocks are 2 MiB aligned and advised as huge pages.
template <class T>
struct big_table_allocator
{
    using value_type = T;
    big_table_allocator() = default;
    template <class U>
    big_table_allocator(const big_table_allocator<U>&) noexcept {}

    T* allocate(std::size_t n)
    {
        constexpr std::size_t huge = std::size_t{2} << 20;
        std::size_t bytes = n * sizeof(T);
        if (bytes < huge) return static_cast<T*>(::operator new(bytes));
        bytes = (bytes + huge - 1) / huge * huge;
        void* p = std::aligned_alloc(huge, bytes);
        if (p == nullptr) throw std::bad_alloc();
        ::madvise(p, bytes, MADV_HUGEPAGE); // advice only; failure is harmless
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept
    {
        if (n * sizeof(T) < (std::size_t{2} << 20)) ::operator delete(p);
        else std::free(p);
    }
    template <class U>
    bool operator==(const big_table_allocator<U>&) const noexcept { return true; }
};

using people_table = std::vector<fas_person, big_table_allocator<fas_person>>;

} // namespace

struct fas_directory::impl
{
    mutable std::shared_mutex mutex;
    people_table people;
    std::vector<fas_group> groups;
    name_index person_by_name;
    std::unordered_map<std::int64_t, std::uint32_t> person_by_id;
    name_index group_by_name;
    std::unordered_map<std::int64_t, std::uint32_t> group_by_id;
    std::vector<std::vector<std::uint32_t>> group_members; // parallel to groups
    std::vector<std::uint32_t> people_sorted;
    std::vector<std::uint32_t> groups_sorted;
    std::unordered_map<std::int64_t, std::vector<fas_config>> configs;
    std::int64_t next_id = 1111; // FAS's sequence starts there; people and groups share it
    std::uint64_t generation = 0; // bumped by every write, under the exclusive lock

    std::int64_t take_id(std::int64_t wanted)
    {
        if (wanted == 0) wanted = next_id;
        next_id = std::max(next_id, wanted + 1);
        return wanted;
    }

    bool id_taken(std::int64_t id) const
    {
        return person_by_id.count(id) != 0 || group_by_id.count(id) != 0;
    }

    // Appends a group; the caller checked name and id.
    std::uint32_t push_group(fas_group g)
    {
        auto idx = static_cast<std::uint32_t>(groups.size());
        g.id = take_id(g.id);
        group_by_name.emplace(g.name, idx);
        group_by_id.emplace(g.id, idx);
        groups.push_back(std::move(g));
        group_members.emplace_back();
        return idx;
    }

    // Appends a person and indexes its roles; the caller checked everything.
    std::uint32_t push_person(fas_person p)
    {
        auto idx = static_cast<std::uint32_t>(people.size());
        p.id = take_id(p.id);
        person_by_name.emplace(p.username, idx);
        person_by_id.emplace(p.id, idx);
        for (const auto& r : p.roles) group_members[group_by_id.at(r.group_id)].push_back(idx);
        people.push_back(std::move(p));
        return idx;
    }

    void resort()
    {
        // Sort on a 16-byte prefix copied next to the index: comparing through people[i]
        // would miss the cache on every step of a 200k-entry sort.
        struct key
        {
            std::array<unsigned char, 16> prefix;
            std::uint32_t index;
        };
        std::vector<key> keys(people.size());
        for (std::uint32_t i = 0; i < keys.size(); ++i) {
            keys[i].prefix.fill(0);
            const auto& u = people[i].username;
            std::memcpy(keys[i].prefix.data(), u.data(), std::min<std::size_t>(u.size(), 16));
            keys[i].index = i;
        }
        std::sort(keys.begin(), keys.end(), [&](const key& a, const key& b) {
            int c = std::memcmp(a.prefix.data(), b.prefix.data(), 16);
            if (c != 0) return c < 0;
            return people[a.index].username < people[b.index].username;
        });
        people_sorted.resize(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i) people_sorted[i] = keys[i].index;
        groups_sorted.resize(groups.size());
        for (std::uint32_t i = 0; i < groups_sorted.size(); ++i) groups_sorted[i] = i;
        std::sort(groups_sorted.begin(), groups_sorted.end(),
                  [&](auto a, auto b) { return groups[a].name < groups[b].name; });
    }

    fas_person* find_person(std::string_view name)
    {
        auto it = person_by_name.find(name);
        return it == person_by_name.end() ? nullptr : &people[it->second];
    }
    const fas_group* find_group(std::string_view name) const
    {
        auto it = group_by_name.find(name);
        return it == group_by_name.end() ? nullptr : &groups[it->second];
    }

    // Adds or replaces a role of people[pidx].
    void set_role(std::uint32_t pidx, fas_role role)
    {
        auto& roles = people[pidx].roles;
        for (auto& r : roles) {
            if (r.group_id == role.group_id) {
                r = std::move(role);
                return;
            }
        }
        group_members[group_by_id.at(role.group_id)].push_back(pidx);
        roles.push_back(std::move(role));
    }

    void set_config(std::int64_t pid, std::string_view app, std::string_view attr,
                    std::optional<std::string> value)
    {
        auto& list = configs[pid];
        for (auto& c : list) {
            if (c.application == app && c.attribute == attr) {
                c.value = std::move(value);
                return;
            }
        }
        list.push_back(fas_config{std::string(app), std::string(attr), std::move(value)});
    }
};

// ---------------------------------------------------------------------------------------
// fixed data and generator
// ---------------------------------------------------------------------------------------

namespace {

// Salt from the username keeps fixed and fixture hashes stable across runs.
std::string salt_for(std::string_view username)
{
    std::string salt(username.substr(0, 8));
    for (char& c : salt)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '.';
    return salt;
}

fas_time at(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0, int us = 0)
{
    return fas_time{sys_days{year{y} / month{m} / day{d}}} + hours{h} + minutes{mi} +
           seconds{s} + microseconds{us};
}

const fas_time install_time = at(2008, 3, 4, 12, 0, 0);

fas_group make_group(std::int64_t id, std::string name, std::string display, std::string type,
                     std::int64_t owner)
{
    fas_group g;
    g.id = id;
    g.name = std::move(name);
    g.display_name = std::move(display);
    g.group_type = std::move(type);
    g.owner_id = owner;
    g.creation = install_time;
    return g;
}

fas_role approved(std::int64_t group, fas_role_type type, std::int64_t sponsor, fas_time when)
{
    fas_role r;
    r.group_id = group;
    r.role_type = type;
    r.role_status = fas_role_status::approved;
    r.sponsor_id = sponsor;
    r.creation = when;
    r.approval = when + minutes{5};
    return r;
}

fas_role unapproved(std::int64_t group, fas_time when)
{
    fas_role r;
    r.group_id = group;
    r.role_status = fas_role_status::unapproved;
    r.creation = when;
    return r;
}

constexpr std::int64_t admin_id = 100001;
constexpr std::int64_t g_cla_done = 100002, g_accounts = 100006, g_fedorabugs = 100148,
                       g_packager = 100300, g_cla_fedora = 101441, g_cla_fpca = 155928,
                       g_fas_system = 100010, g_moderators = 100011, g_thirdparty = 100012,
                       g_sysadmin = 100013, g_fas_private = 100014;

void add_fixed(std::vector<fas_group>& groups,
               people_table& people,
               std::vector<std::tuple<std::int64_t, fas_config>>& configs)
{
    groups.push_back(make_group(g_cla_done, "cla_done", "CLA Done Group", "cla", admin_id));
    groups.push_back(make_group(g_accounts, "accounts", "Account System Admins", "tracking",
                                admin_id));
    groups.push_back(make_group(g_fas_system, "fas-system", "FAS system accounts", "system",
                                admin_id));
    groups.push_back(make_group(g_moderators, "accounts-moderators", "Account moderators",
                                "tracking", admin_id));
    groups.push_back(make_group(g_thirdparty, "thirdparty", "Third party services",
                                "tracking", admin_id));
    groups.push_back(make_group(g_sysadmin, "sysadmin", "System administrators", "shell",
                                admin_id));
    groups.push_back(make_group(g_fas_private, "fas-private", "A privileged-view group",
                                "tracking", admin_id));
    groups.push_back(make_group(g_fedorabugs, "fedorabugs", "Fedora Bugs Group", "tracking",
                                admin_id));
    {
        auto g = make_group(g_packager, "packager", "Fedora Packager Group", "pkgdb", admin_id);
        g.needs_sponsor = true;
        g.prerequisite_id = g_cla_done;
        g.mailing_list = "packaging@lists.fedoraproject.org";
        g.irc_channel = "#fedora-devel";
        g.irc_network = "libera.chat";
        groups.push_back(std::move(g));
    }
    groups.push_back(make_group(g_cla_fedora, "cla_fedora", "Fedora ICLA (deprecated)", "cla",
                                admin_id));
    groups.push_back(make_group(g_cla_fpca, "cla_fpca", "Fedora Project Contributor Agreement",
                                "cla", admin_id));

    auto person = [&](std::int64_t id, std::string user, std::string human, std::string pw,
                      fas_time created) -> fas_person& {
        fas_person p;
        p.id = id;
        p.username = user;
        p.human_name = std::move(human);
        p.email = user + "@example.org";
        p.password = fas_crypt_md5(pw, salt_for(user));
        p.password_changed = created + hours{1};
        p.creation = created;
        p.last_seen = created + days{30};
        p.status_change = created;
        people.push_back(std::move(p));
        return people.back();
    };
    auto cla = [](fas_person& p, fas_time when) {
        p.roles.push_back(approved(g_cla_done, fas_role_type::user, admin_id, when));
        p.roles.push_back(approved(g_cla_fpca, fas_role_type::user, admin_id, when));
    };

    {
        auto& p = person(admin_id, "admin", "Admin User", "admin", install_time);
        p.email = "root@localhost";
        p.ircnick = "admin";
        p.roles.push_back(approved(g_accounts, fas_role_type::administrator, admin_id, install_time));
        p.roles.back().internal_comments = "created at install time";
        p.roles.push_back(approved(g_sysadmin, fas_role_type::administrator, admin_id, install_time));
        p.roles.push_back(approved(g_packager, fas_role_type::administrator, admin_id, install_time));
        cla(p, install_time);
    }
    {
        auto t = at(2008, 3, 4, 21, 55, 30, 873744);
        auto& p = person(100068, "jdoe", "John Doe", "jdoe-pass", t);
        p.ssh_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGpkb2Vfa2V5X2Zvcl90ZXN0c19vbmx5X25vdF9yZWFs jdoe@host";
        p.gpg_keyid = "AB12CD34";
        p.ircnick = "jdoe";
        p.locale = "en";
        p.timezone = "America/Los_Angeles";
        p.country_code = "US";
        p.latitude = 45.5;
        p.longitude = -122.6;
        p.certificate_serial = 3;
        p.telephone = "+1 555 0100";
        p.postal_address = "1 Main St, Springfield";
        p.old_password = "$1$jdoe$oldhasholdhasholdhash.";
        p.security_question = "Favourite colour?";
        p.security_answer = "blue";
        p.passwordtoken = "reset-token-jdoe";
        p.internal_comments = "long-time contributor";
        cla(p, t);
        p.roles.push_back(approved(g_packager, fas_role_type::sponsor, admin_id, t + days{1}));
        p.roles.push_back(approved(g_fedorabugs, fas_role_type::user, admin_id, t + days{1}));
        configs.emplace_back(100068, fas_config{"bugzilla", "login", "jdoe@example.org"});
        configs.emplace_back(100068, fas_config{"moin", "theme", "fedora"});
    }
    {
        auto& p = person(100070, "nocla", "No Agreement", "nocla-pass", at(2012, 5, 1, 8));
        p.roles.push_back(unapproved(g_packager, at(2012, 5, 2)));
    }
    {
        auto& p = person(100071, "privuser", "Private Person", "privuser-pass", at(2010, 1, 2, 3, 4, 5));
        p.privacy = true;
        p.ssh_key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCprivuserkeyprivuserkey privuser@host";
        p.gpg_keyid = "0011AABB";
        p.ircnick = "privuser";
        p.country_code = "DE";
        p.telephone = "+49 30 000000";
        cla(p, at(2010, 1, 3));
        p.roles.push_back(approved(g_packager, fas_role_type::user, 100068, at(2010, 2, 1)));
    }
    {
        auto& p = person(100072, "zlukasiewicz", "Zo\u00eb \u0141ukasiewicz \U0001F427",
                         "zoe-pass", at(2014, 7, 8, 9, 10, 11, 120000));
        p.email = "zoe@example.org";
        p.locale = "pl";
        p.timezone = "Europe/Warsaw";
        p.country_code = "PL";
        p.affiliation = "Universit\u00e9 de M\u00fcnchen";
        cla(p, at(2014, 7, 9));
    }
    {
        auto& p = person(100073, "sysuser", "System Account", "sysuser-pass", at(2009, 1, 1));
        cla(p, at(2009, 1, 1));
        p.roles.push_back(approved(g_fas_system, fas_role_type::user, admin_id, at(2009, 1, 1)));
    }
    {
        auto& p = person(100074, "tpuser", "Third Party", "tpuser-pass", at(2009, 2, 1));
        cla(p, at(2009, 2, 1));
        p.roles.push_back(approved(g_thirdparty, fas_role_type::user, admin_id, at(2009, 2, 1)));
    }
    {
        auto& p = person(100075, "modo", "Moderator", "modo-pass", at(2011, 3, 1));
        cla(p, at(2011, 3, 1));
        p.roles.push_back(approved(g_moderators, fas_role_type::user, admin_id, at(2011, 3, 1)));
    }
    {
        auto& p = person(100076, "sysadm", "Sys Admin", "sysadm-pass", at(2011, 4, 1));
        cla(p, at(2011, 4, 1));
        p.roles.push_back(approved(g_sysadmin, fas_role_type::user, admin_id, at(2011, 4, 1)));
    }
    {
        auto& p = person(100077, "inactive", "Gone Away", "inactive-pass", at(2009, 6, 1));
        p.status = fas_account_status::inactive;
        p.status_change = at(2015, 1, 1);
        cla(p, at(2009, 6, 1));
    }
    {
        auto& p = person(100078, "disabled", "Disabled Account", "disabled-pass", at(2009, 6, 2));
        p.status = fas_account_status::admin_disabled;
        p.status_change = at(2016, 1, 1);
    }
    {
        auto& p = person(100079, "botuser", "Robot", "botuser-pass", at(2013, 1, 1));
        p.status = fas_account_status::bot;
        p.roles.push_back(approved(g_fedorabugs, fas_role_type::user, admin_id, at(2013, 1, 1)));
    }
    person(100080, "noroles", "Nobody Special", "noroles-pass", at(2017, 1, 1));
}

// Name material for generated accounts: {display, ascii transliteration}.
struct name_pair
{
    std::string_view display;
    std::string_view ascii;
};
constexpr name_pair first_names[] = {
    {"Anna", "anna"}, {"Ben", "ben"}, {"Carla", "carla"}, {"David", "david"}, {"Eva", "eva"},
    {"Frank", "frank"}, {"Grace", "grace"}, {"Hugo", "hugo"}, {"Ines", "ines"}, {"Jan", "jan"},
    {"Kim", "kim"}, {"Lena", "lena"}, {"Marco", "marco"}, {"Nina", "nina"}, {"Omar", "omar"},
    {"Paula", "paula"}, {"Quinn", "quinn"}, {"Rosa", "rosa"}, {"Sam", "sam"}, {"Tara", "tara"},
};
constexpr name_pair first_names_intl[] = {
    {"J\u00f6rg", "jorg"}, {"Fran\u00e7ois", "francois"}, {"Ren\u00e9e", "renee"},
    {"\u0141ucja", "lucja"}, {"\u00c9mile", "emile"}, {"S\u00f8ren", "soren"},
    {"\u5927\u8f14", "daisuke"}, {"\u0410\u043d\u043d\u0430", "anna"},
    {"Se\u00e1n", "sean"}, {"Zo\u00eb", "zoe"},
};
constexpr name_pair last_names[] = {
    {"Smith", "smith"}, {"Garcia", "garcia"}, {"Novak", "novak"}, {"Rossi", "rossi"},
    {"Kowalski", "kowalski"}, {"Tanaka", "tanaka"}, {"Okafor", "okafor"}, {"Larsen", "larsen"},
    {"Dubois", "dubois"}, {"Silva", "silva"}, {"Meyer", "meyer"}, {"Khan", "khan"},
    {"Murphy", "murphy"}, {"Ivanova", "ivanova"}, {"Chen", "chen"}, {"Haddad", "haddad"},
};
constexpr name_pair last_names_intl[] = {
    {"M\u00fcller", "muller"}, {"Nu\u00f1ez", "nunez"}, {"\u0141\u0105cki", "lacki"},
    {"Bront\u00eb", "bronte"}, {"\u00c5berg", "aberg"}, {"\u5c71\u7530", "yamada"},
    {"\u041f\u0435\u0442\u0440\u043e\u0432", "petrov"}, {"\u00d6zt\u00fcrk", "ozturk"},
};
constexpr std::string_view group_words[] = {
    "infra", "design", "docs", "qa", "web", "kernel", "python", "ruby", "perl", "java",
    "go", "rust", "games", "ambassadors", "marketing", "i18n", "l10n", "security", "cloud",
    "atomic", "iot", "arm", "ppc", "s390", "releng", "websites", "magazine", "council",
};
constexpr std::string_view domains[] = {"example.org", "example.com", "example.net",
                                        "mail.example.edu"};
constexpr std::string_view locales[] = {"C", "en", "en_US", "de", "fr", "es", "pl", "ja",
                                        "pt_BR", "cs"};
constexpr std::string_view zones[] = {"UTC", "America/New_York", "Europe/Berlin",
                                      "Asia/Tokyo", "Europe/Prague", "America/Sao_Paulo"};
constexpr std::string_view countries[] = {"US", "DE", "FR", "ES", "PL", "JP", "BR", "CZ",
                                          "IN", "GB"};

template <class T, std::size_t N>
const T& pick(fas_detail::rng& r, const T (&arr)[N])
{
    return arr[r.below(N)];
}

void append_random_b64(std::string& out, fas_detail::rng& r, std::size_t n)
{
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < n; ++i) out += alphabet[r.below(64)];
}

void append_hex_upper(std::string& out, std::uint64_t v, int digits)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    for (int i = digits - 1; i >= 0; --i) out += hex[(v >> (4 * i)) & 0xF];
}

void generate_data(const fas_data_params& prm, std::vector<fas_group>& groups,
              people_table& people)
{
    // Without the fixed data there are no cla_* groups and no admin to sponsor anybody.
    const bool fixed = prm.fixed_accounts;
    fas_detail::rng r(prm.seed);

    // Generated ids start at 200000: groups first, then people (one shared sequence).
    std::int64_t next = 200000;
    const std::size_t first_gen_group = groups.size();
    for (std::size_t i = 0; i < prm.groups; ++i) {
        std::string name(pick(r, group_words));
        name += '-';
        name += std::to_string(i);
        fas_group g;
        g.id = next++;
        g.display_name = "The " + name + " team";
        g.name = std::move(name);
        g.group_type = std::string(group_type_names[r.below(group_type_names.size())]);
        if (g.group_type == "cla") g.group_type = "tracking"; // keep CLA logic to cla_* groups
        g.needs_sponsor = r.percent(40);
        g.user_can_remove = !r.percent(10);
        g.invite_only = r.percent(10);
        g.creation = install_time + seconds{static_cast<long long>(r.below(300'000'000))};
        if (r.percent(30)) g.mailing_list = g.name + "@lists.example.org";
        groups.push_back(std::move(g));
    }

    // A few real MD5-crypt hashes, shared: see fas_data_params::generated_password.
    std::array<std::string, 8> hashes;
    for (std::size_t i = 0; i < hashes.size() && prm.people != 0; ++i) {
        std::string salt = "gen";
        append_hex_upper(salt, (prm.seed * 31 + i) & 0xFFFFF, 5);
        hashes[i] = fas_crypt_md5(prm.generated_password, salt);
    }

    const std::int64_t first_person_id = next;
    people.reserve(people.size() + prm.people);
    std::vector<std::int64_t> picked;
    for (std::size_t i = 0; i < prm.people; ++i) {
        fas_person& p = people.emplace_back(); // built in place: moves are not free at 1 KB
        p.id = next++;
        bool intl = r.percent(prm.non_ascii_percent);
        const name_pair& fn = intl ? pick(r, first_names_intl) : pick(r, first_names);
        const name_pair& ln = (intl && r.percent(50)) ? pick(r, last_names_intl) : pick(r, last_names);
        p.human_name.reserve(fn.display.size() + ln.display.size() + 1);
        p.human_name.append(fn.display).append(" ").append(ln.display);
        // Letters then a unique number: unique, and never equal to a fixed name.
        p.username.reserve(16);
        p.username += fn.ascii[0];
        p.username.append(ln.ascii);
        p.username += std::to_string(i);
        p.email.reserve(p.username.size() + 16);
        p.email.append(p.username).append("@").append(pick(r, domains));
        p.password = hashes[i % hashes.size()];
        p.creation = install_time + seconds{static_cast<long long>(r.below(400'000'000))} +
                     microseconds{static_cast<long long>(r.below(1'000'000))};
        p.status_change = p.creation;
        p.last_seen = p.creation + seconds{static_cast<long long>(r.below(100'000'000))};
        p.password_changed = p.creation;
        p.locale = std::string(pick(r, locales));
        p.timezone = std::string(pick(r, zones));
        if (r.percent(60)) p.country_code = std::string(pick(r, countries));
        if (r.percent(50)) p.ircnick = p.username;
        if (r.percent(40)) {
            std::string k;
            append_hex_upper(k, r.next(), 8);
            p.gpg_keyid = std::move(k);
        }
        if (r.percent(prm.ssh_key_percent)) {
            std::string k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI";
            append_random_b64(k, r, 43);
            k.append(" ").append(p.username).append("@localhost");
            p.ssh_key = std::move(k);
        }
        p.privacy = r.percent(prm.privacy_percent);
        if (r.percent(prm.inactive_percent)) {
            static constexpr fas_account_status others[] = {
                fas_account_status::inactive, fas_account_status::expired,
                fas_account_status::admin_disabled, fas_account_status::spamcheck_awaiting};
            p.status = pick(r, others);
        }
        p.certificate_serial = 1 + static_cast<std::int64_t>(r.below(3));

        const std::int64_t default_sponsor = fixed ? admin_id : first_person_id;
        const std::size_t ngen = groups.size() - first_gen_group;
        const std::size_t k = (ngen != 0 && prm.max_roles_per_person != 0)
            ? std::min<std::size_t>(r.below(prm.max_roles_per_person + 1), ngen) : 0;
        p.roles.reserve(k + 2);
        if (r.percent(prm.cla_percent) && fixed) {
            auto t = p.creation + days{1};
            p.roles.push_back(approved(g_cla_done, fas_role_type::user, admin_id, t));
            p.roles.push_back(approved(g_cla_fpca, fas_role_type::user, admin_id, t));
        }
        {
            picked.clear();
            while (picked.size() < k) {
                auto gid = groups[first_gen_group + r.below(ngen)].id;
                if (std::find(picked.begin(), picked.end(), gid) != picked.end()) continue;
                picked.push_back(gid);
                auto t = p.creation + days{static_cast<long long>(2 + r.below(900))};
                auto roll = r.below(100);
                fas_role_type type = roll < 85   ? fas_role_type::user
                                     : roll < 95 ? fas_role_type::sponsor
                                                 : fas_role_type::administrator;
                if (r.percent(90)) {
                    std::int64_t sponsor = first_person_id +
                        static_cast<std::int64_t>(r.below(std::max<std::size_t>(i, 1)));
                    if (i == 0) sponsor = default_sponsor;
                    p.roles.push_back(approved(gid, type, sponsor, t));
                } else {
                    p.roles.push_back(unapproved(gid, t));
                }
            }
        }
    }

    // Owners: a generated person when there is one (deterministic), else the fixed admin.
    for (std::size_t gi = first_gen_group; gi < groups.size(); ++gi) {
        groups[gi].owner_id = prm.people == 0
            ? (fixed ? admin_id : 0)
            : first_person_id + static_cast<std::int64_t>(r.below(prm.people));
    }
}

} // namespace

fas_directory::fas_directory(const fas_data_params& params) : d_(std::make_unique<impl>())
{
    std::vector<fas_group> groups;
    people_table people;
    std::vector<std::tuple<std::int64_t, fas_config>> configs;
    if (params.fixed_accounts) add_fixed(groups, people, configs);
    generate_data(params, groups, people);

    // Generated data is consistent by construction; the checks guard the fixed tables. The
    // vectors are adopted whole: moving 200k people one by one costs more than making them.
    impl& d = *d_;
    d.groups = std::move(groups);
    d.group_members.resize(d.groups.size());
    d.group_by_name.reserve(d.groups.size());
    for (std::uint32_t i = 0; i < d.groups.size(); ++i) {
        auto& g = d.groups[i];
        g.id = d.take_id(g.id);
        if (!d.group_by_name.emplace(g.name, i).second || !d.group_by_id.emplace(g.id, i).second)
            throw std::logic_error("fas generator: duplicate group " + g.name);
    }
    d.people = std::move(people);
    d.person_by_name.reserve(d.people.size());
    d.person_by_id.reserve(d.people.size());
    for (std::uint32_t i = 0; i < d.people.size(); ++i) {
        auto& p = d.people[i];
        p.id = d.take_id(p.id);
        if (!d.person_by_name.emplace(p.username, i).second || d.group_by_id.count(p.id) != 0 ||
            !d.person_by_id.emplace(p.id, i).second)
            throw std::logic_error("fas generator: duplicate person " + p.username);
        for (const auto& r : p.roles) d.group_members[d.group_by_id.at(r.group_id)].push_back(i);
    }
    for (auto& [pid, c] : configs) d.set_config(pid, c.application, c.attribute, std::move(c.value));
    d.resort();
}

fas_directory::~fas_directory() = default;

std::shared_ptr<fas_directory> fas_directory::generate(const fas_data_params& params)
{
    return std::make_shared<fas_directory>(params);
}

// ---------------------------------------------------------------------------------------
// JSON fixture
// ---------------------------------------------------------------------------------------

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what)
{
    throw std::invalid_argument("fas fixture: " + where + ": " + what);
}

const json::object& as_object(const json::value& v, const std::string& where)
{
    if (!v.is_object()) bad(where, "expected an object");
    return v.get_object();
}

std::string get_string(const json::value& v, const std::string& where)
{
    if (!v.is_string()) bad(where, "expected a string");
    return std::string(v.get_string());
}

std::optional<std::string> get_opt_string(const json::value& v, const std::string& where)
{
    if (v.is_null()) return std::nullopt;
    return get_string(v, where);
}

bool get_bool(const json::value& v, const std::string& where)
{
    if (!v.is_bool()) bad(where, "expected true or false");
    return v.get_bool();
}

std::int64_t get_int(const json::value& v, const std::string& where)
{
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    bad(where, "expected an integer");
}

std::optional<double> get_opt_double(const json::value& v, const std::string& where)
{
    if (v.is_null()) return std::nullopt;
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    bad(where, "expected a number");
}

fas_time get_time(const json::value& v, const std::string& where)
{
    auto t = parse_fas_time(get_string(v, where));
    if (!t) bad(where, "expected a time like \"2008-03-04 12:00:00+00:00\"");
    return *t;
}

std::optional<fas_time> get_opt_time(const json::value& v, const std::string& where)
{
    if (v.is_null()) return std::nullopt;
    return get_time(v, where);
}

struct pending_role
{
    std::string group;
    std::optional<std::string> sponsor;
    fas_role role;
};

} // namespace

std::shared_ptr<fas_directory> fas_directory::from_json(std::string_view text)
{
    json::value root;
    try {
        root = json::parse(text);
    } catch (const std::exception& e) {
        bad("document", std::string("not valid JSON: ") + e.what());
    }
    const auto& top = as_object(root, "document");
    bool include_fixed = false;
    for (const auto& kv : top) {
        if (kv.key() == "include_fixed") include_fixed = get_bool(kv.value(), "include_fixed");
        else if (kv.key() != "groups" && kv.key() != "people")
            bad("document", "unknown key \"" + std::string(kv.key()) + "\"");
    }

    fas_data_params none;
    none.people = 0;
    none.groups = 0;
    none.fixed_accounts = include_fixed;
    auto dir = std::make_shared<fas_directory>(none);
    impl& d = *dir->d_;

    // Groups first (owners and prerequisites are resolved after people exist).
    std::vector<std::tuple<std::uint32_t, std::optional<std::string>, std::optional<std::string>>> group_refs;
    if (auto* gs = top.if_contains("groups")) {
        if (!gs->is_array()) bad("groups", "expected an array");
        std::size_t n = 0;
        for (const auto& gv : gs->get_array()) {
            std::string where = "groups[" + std::to_string(n++) + "]";
            const auto& o = as_object(gv, where);
            fas_group g;
            g.creation = install_time;
            std::optional<std::string> owner, prereq;
            bool has_name = false;
            for (const auto& kv : o) {
                std::string k(kv.key());
                std::string w = where + "." + k;
                const auto& v = kv.value();
                if (k == "name") { g.name = get_string(v, w); has_name = true; }
                else if (k == "id") g.id = get_int(v, w);
                else if (k == "display_name") g.display_name = get_string(v, w);
                else if (k == "group_type") g.group_type = get_string(v, w);
                else if (k == "owner") owner = get_string(v, w);
                else if (k == "needs_sponsor") g.needs_sponsor = get_bool(v, w);
                else if (k == "user_can_remove") g.user_can_remove = get_bool(v, w);
                else if (k == "invite_only") g.invite_only = get_bool(v, w);
                else if (k == "prerequisite") prereq = get_opt_string(v, w);
                else if (k == "joinmsg") g.joinmsg = get_string(v, w);
                else if (k == "apply_rules") g.apply_rules = get_opt_string(v, w);
                else if (k == "url") g.url = get_opt_string(v, w);
                else if (k == "mailing_list") g.mailing_list = get_opt_string(v, w);
                else if (k == "mailing_list_url") g.mailing_list_url = get_opt_string(v, w);
                else if (k == "irc_channel") g.irc_channel = get_opt_string(v, w);
                else if (k == "irc_network") g.irc_network = get_opt_string(v, w);
                else if (k == "creation") g.creation = get_time(v, w);
                else bad(where, "unknown key \"" + k + "\"");
            }
            if (!has_name || g.name.empty()) bad(where, "\"name\" is required");
            if (std::find(group_type_names.begin(), group_type_names.end(), g.group_type) ==
                group_type_names.end())
                bad(where, "unknown group_type \"" + g.group_type + "\"");
            if (d.group_by_name.count(g.name) != 0) bad(where, "duplicate group \"" + g.name + "\"");
            if (g.id != 0 && d.id_taken(g.id)) bad(where, "id already used");
            if (g.display_name.empty()) g.display_name = g.name;
            group_refs.emplace_back(d.push_group(std::move(g)), owner, prereq);
        }
    }

    std::vector<std::tuple<std::uint32_t, std::vector<pending_role>>> role_refs;
    if (auto* ps = top.if_contains("people")) {
        if (!ps->is_array()) bad("people", "expected an array");
        std::size_t n = 0;
        for (const auto& pv : ps->get_array()) {
            std::string where = "people[" + std::to_string(n++) + "]";
            const auto& o = as_object(pv, where);
            fas_person p;
            p.creation = install_time;
            p.last_seen = install_time;
            p.status_change = install_time;
            std::vector<pending_role> roles;
            std::vector<fas_config> cfgs;
            std::optional<std::string> plain;
            for (const auto& kv : o) {
                std::string k(kv.key());
                std::string w = where + "." + k;
                const auto& v = kv.value();
                if (k == "username") p.username = get_string(v, w);
                else if (k == "id") p.id = get_int(v, w);
                else if (k == "password") plain = get_string(v, w);
                else if (k == "password_hash") p.password = get_string(v, w);
                else if (k == "human_name") p.human_name = get_string(v, w);
                else if (k == "gpg_keyid") p.gpg_keyid = get_opt_string(v, w);
                else if (k == "ssh_key") p.ssh_key = get_opt_string(v, w);
                else if (k == "password_changed") p.password_changed = get_opt_time(v, w);
                else if (k == "email") p.email = get_string(v, w);
                else if (k == "unverified_email") p.unverified_email = get_opt_string(v, w);
                else if (k == "comments") p.comments = get_opt_string(v, w);
                else if (k == "postal_address") p.postal_address = get_opt_string(v, w);
                else if (k == "telephone") p.telephone = get_opt_string(v, w);
                else if (k == "facsimile") p.facsimile = get_opt_string(v, w);
                else if (k == "affiliation") p.affiliation = get_opt_string(v, w);
                else if (k == "certificate_serial") p.certificate_serial = get_int(v, w);
                else if (k == "creation") p.creation = get_time(v, w);
                else if (k == "ircnick") p.ircnick = get_opt_string(v, w);
                else if (k == "last_seen") p.last_seen = get_time(v, w);
                else if (k == "status") {
                    auto s = parse_account_status(get_string(v, w));
                    if (!s) bad(w, "unknown status");
                    p.status = *s;
                }
                else if (k == "status_change") p.status_change = get_time(v, w);
                else if (k == "locale") p.locale = get_string(v, w);
                else if (k == "timezone") p.timezone = get_opt_string(v, w);
                else if (k == "latitude") p.latitude = get_opt_double(v, w);
                else if (k == "longitude") p.longitude = get_opt_double(v, w);
                else if (k == "country_code") p.country_code = get_opt_string(v, w);
                else if (k == "privacy") p.privacy = get_bool(v, w);
                else if (k == "old_password") p.old_password = get_opt_string(v, w);
                else if (k == "security_question") p.security_question = get_string(v, w);
                else if (k == "security_answer") p.security_answer = get_string(v, w);
                else if (k == "passwordtoken") p.passwordtoken = get_opt_string(v, w);
                else if (k == "emailtoken") p.emailtoken = get_opt_string(v, w);
                else if (k == "internal_comments") p.internal_comments = get_opt_string(v, w);
                else if (k == "alias_enabled") p.alias_enabled = get_bool(v, w);
                else if (k == "ipa_sync_status") p.ipa_sync_status = get_opt_string(v, w);
                else if (k == "roles") {
                    if (!v.is_array()) bad(w, "expected an array");
                    std::size_t rn = 0;
                    for (const auto& rv : v.get_array()) {
                        std::string rw = w + "[" + std::to_string(rn++) + "]";
                        pending_role pr;
                        pr.role.creation = install_time;
                        bool approval_set = false;
                        for (const auto& rkv : as_object(rv, rw)) {
                            std::string rk(rkv.key());
                            std::string rkw = rw + "." + rk;
                            const auto& x = rkv.value();
                            if (rk == "group") pr.group = get_string(x, rkw);
                            else if (rk == "role_type") {
                                auto t = parse_role_type(get_string(x, rkw));
                                if (!t) bad(rkw, "unknown role_type");
                                pr.role.role_type = *t;
                            } else if (rk == "role_status") {
                                auto s = parse_role_status(get_string(x, rkw));
                                if (!s) bad(rkw, "unknown role_status");
                                pr.role.role_status = *s;
                            } else if (rk == "sponsor") pr.sponsor = get_opt_string(x, rkw);
                            else if (rk == "creation") pr.role.creation = get_time(x, rkw);
                            else if (rk == "approval") { pr.role.approval = get_opt_time(x, rkw); approval_set = true; }
                            else if (rk == "internal_comments") pr.role.internal_comments = get_opt_string(x, rkw);
                            else bad(rw, "unknown key \"" + rk + "\"");
                        }
                        if (pr.group.empty()) bad(rw, "\"group\" is required");
                        if (!approval_set && pr.role.role_status == fas_role_status::approved)
                            pr.role.approval = pr.role.creation;
                        roles.push_back(std::move(pr));
                    }
                } else if (k == "configs") {
                    if (!v.is_array()) bad(w, "expected an array");
                    std::size_t cn = 0;
                    for (const auto& cv : v.get_array()) {
                        std::string cw = w + "[" + std::to_string(cn++) + "]";
                        fas_config c;
                        for (const auto& ckv : as_object(cv, cw)) {
                            std::string ck(ckv.key());
                            if (ck == "application") c.application = get_string(ckv.value(), cw + ".application");
                            else if (ck == "attribute") c.attribute = get_string(ckv.value(), cw + ".attribute");
                            else if (ck == "value") c.value = get_opt_string(ckv.value(), cw + ".value");
                            else bad(cw, "unknown key \"" + ck + "\"");
                        }
                        if (c.application.empty() || c.attribute.empty())
                            bad(cw, "\"application\" and \"attribute\" are required");
                        cfgs.push_back(std::move(c));
                    }
                } else bad(where, "unknown key \"" + k + "\"");
            }
            if (p.username.empty()) bad(where, "\"username\" is required");
            if (d.person_by_name.count(p.username) != 0 || d.group_by_name.count(p.username) != 0)
                bad(where, "username \"" + p.username + "\" is already used");
            if (p.id != 0 && d.id_taken(p.id)) bad(where, "id already used");
            if (plain) p.password = fas_crypt_md5(*plain, salt_for(p.username));
            if (p.email.empty()) p.email = p.username + "@example.org";
            if (p.human_name.empty()) p.human_name = p.username;
            auto idx = d.push_person(std::move(p));
            for (auto& c : cfgs) d.set_config(d.people[idx].id, c.application, c.attribute, std::move(c.value));
            role_refs.emplace_back(idx, std::move(roles));
        }
    }

    for (auto& [gidx, owner, prereq] : group_refs) {
        auto& g = d.groups[gidx];
        if (owner) {
            auto* p = d.find_person(*owner);
            if (!p) bad("group " + g.name, "unknown owner \"" + *owner + "\"");
            g.owner_id = p->id;
        } else if (auto it = d.person_by_id.find(admin_id); it != d.person_by_id.end()) {
            g.owner_id = admin_id;
        }
        if (prereq) {
            auto* pg = d.find_group(*prereq);
            if (!pg) bad("group " + g.name, "unknown prerequisite \"" + *prereq + "\"");
            g.prerequisite_id = pg->id;
        }
    }
    for (auto& [pidx, roles] : role_refs) {
        for (auto& pr : roles) {
            const auto* g = d.find_group(pr.group);
            if (!g) bad("person " + d.people[pidx].username, "role in unknown group \"" + pr.group + "\"");
            pr.role.group_id = g->id;
            if (pr.sponsor) {
                auto* s = d.find_person(*pr.sponsor);
                if (!s) bad("person " + d.people[pidx].username, "unknown sponsor \"" + *pr.sponsor + "\"");
                pr.role.sponsor_id = s->id;
            }
            for (const auto& existing : d.people[pidx].roles)
                if (existing.group_id == g->id)
                    bad("person " + d.people[pidx].username, "two roles in group \"" + pr.group + "\"");
            d.set_role(pidx, std::move(pr.role));
        }
    }
    d.resort();
    return dir;
}

std::shared_ptr<fas_directory> fas_directory::from_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("fas fixture: cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return from_json(ss.str());
}

// ---------------------------------------------------------------------------------------
// reader
// ---------------------------------------------------------------------------------------

fas_directory::reader::reader(const impl& d) : d_(&d), lock_(d.mutex) {}
fas_directory::reader::reader(reader&&) noexcept = default;
fas_directory::reader::~reader() = default;

fas_directory::reader fas_directory::read() const
{
    return reader(*d_);
}

const fas_person* fas_directory::reader::person_by_username(std::string_view username) const
{
    auto it = d_->person_by_name.find(username);
    return it == d_->person_by_name.end() ? nullptr : &d_->people[it->second];
}

const fas_person* fas_directory::reader::person_by_id(std::int64_t id) const
{
    auto it = d_->person_by_id.find(id);
    return it == d_->person_by_id.end() ? nullptr : &d_->people[it->second];
}

const fas_group* fas_directory::reader::group_by_name(std::string_view name) const
{
    return d_->find_group(name);
}

const fas_group* fas_directory::reader::group_by_id(std::int64_t id) const
{
    auto it = d_->group_by_id.find(id);
    return it == d_->group_by_id.end() ? nullptr : &d_->groups[it->second];
}

std::span<const fas_person> fas_directory::reader::people() const { return d_->people; }
std::span<const fas_group> fas_directory::reader::groups() const { return d_->groups; }
std::span<const std::uint32_t> fas_directory::reader::people_sorted_by_username() const
{
    return d_->people_sorted;
}
std::span<const std::uint32_t> fas_directory::reader::groups_sorted_by_name() const
{
    return d_->groups_sorted;
}

std::span<const std::uint32_t> fas_directory::reader::members(const fas_group& group) const
{
    auto idx = static_cast<std::size_t>(&group - d_->groups.data());
    if (idx >= d_->groups.size()) return {};
    return d_->group_members[idx];
}

const fas_role* fas_directory::reader::role_in(const fas_person& person, std::int64_t group_id) const
{
    for (const auto& r : person.roles)
        if (r.group_id == group_id) return &r;
    return nullptr;
}

std::uint64_t fas_directory::reader::generation() const
{
    return d_->generation;
}

std::span<const fas_config> fas_directory::reader::configs(const fas_person& person) const
{
    auto it = d_->configs.find(person.id);
    if (it == d_->configs.end()) return {};
    return it->second;
}

// ---------------------------------------------------------------------------------------
// copies and writes
// ---------------------------------------------------------------------------------------

std::optional<fas_person> fas_directory::person(std::string_view username) const
{
    auto r = read();
    const auto* p = r.person_by_username(username);
    return p ? std::optional<fas_person>(*p) : std::nullopt;
}

std::optional<fas_person> fas_directory::person(std::int64_t id) const
{
    auto r = read();
    const auto* p = r.person_by_id(id);
    return p ? std::optional<fas_person>(*p) : std::nullopt;
}

std::optional<fas_group> fas_directory::group(std::string_view name) const
{
    auto r = read();
    const auto* g = r.group_by_name(name);
    return g ? std::optional<fas_group>(*g) : std::nullopt;
}

std::size_t fas_directory::people_count() const
{
    std::shared_lock lock(d_->mutex);
    return d_->people.size();
}

std::size_t fas_directory::group_count() const
{
    std::shared_lock lock(d_->mutex);
    return d_->groups.size();
}

std::int64_t fas_directory::add_person(fas_person person)
{
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    if (person.username.empty()) throw std::invalid_argument("add_person: empty username");
    if (d_->person_by_name.count(person.username) || d_->group_by_name.count(person.username))
        throw std::invalid_argument("add_person: username taken: " + person.username);
    if (person.id != 0 && d_->id_taken(person.id))
        throw std::invalid_argument("add_person: id taken: " + std::to_string(person.id));
    for (std::size_t i = 0; i < person.roles.size(); ++i) {
        if (!d_->group_by_id.count(person.roles[i].group_id))
            throw std::invalid_argument("add_person: role in unknown group id " +
                                        std::to_string(person.roles[i].group_id));
        for (std::size_t j = 0; j < i; ++j)
            if (person.roles[j].group_id == person.roles[i].group_id)
                throw std::invalid_argument("add_person: two roles in one group");
    }
    auto idx = d_->push_person(std::move(person));
    d_->resort();
    return d_->people[idx].id;
}

bool fas_directory::update_person(std::string_view username,
                                  const std::function<void(fas_person&)>& f)
{
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    auto* p = d_->find_person(username);
    if (!p) return false;
    auto id = p->id;
    auto name = p->username;
    auto roles = p->roles;
    f(*p);
    p->id = id;
    p->username = std::move(name);
    p->roles = std::move(roles);
    return true;
}

std::optional<std::int64_t> fas_directory::create_group(fas_group group,
                                                        std::optional<std::int64_t> sponsor_id)
{
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    if (group.name.empty() || d_->group_by_name.count(group.name) ||
        d_->person_by_name.count(group.name))
        return std::nullopt;
    if (group.id != 0 && d_->id_taken(group.id)) return std::nullopt;
    auto owner_it = d_->person_by_id.find(group.owner_id);
    auto gidx = d_->push_group(std::move(group));
    const auto& g = d_->groups[gidx];
    if (owner_it != d_->person_by_id.end()) {
        fas_role r;
        r.group_id = g.id;
        r.role_type = fas_role_type::administrator;
        r.role_status = fas_role_status::approved;
        r.sponsor_id = sponsor_id;
        r.creation = g.creation;
        r.approval = g.creation;
        d_->set_role(owner_it->second, std::move(r));
    }
    d_->resort();
    return g.id;
}

bool fas_directory::set_role(std::string_view username, std::string_view group_name, fas_role role)
{
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    auto pit = d_->person_by_name.find(username);
    const auto* g = d_->find_group(group_name);
    if (pit == d_->person_by_name.end() || !g) return false;
    role.group_id = g->id;
    d_->set_role(pit->second, std::move(role));
    return true;
}

bool fas_directory::set_config(std::string_view username, std::string_view application,
                               std::string_view attribute, std::optional<std::string> value)
{
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    auto* p = d_->find_person(username);
    if (!p) return false;
    d_->set_config(p->id, application, attribute, std::move(value));
    return true;
}

std::optional<std::optional<std::string>> fas_directory::config(std::string_view username,
                                                                std::string_view application,
                                                                std::string_view attribute) const
{
    std::shared_lock lock(d_->mutex);
    auto pit = d_->person_by_name.find(username);
    if (pit == d_->person_by_name.end()) return std::nullopt;
    auto it = d_->configs.find(d_->people[pit->second].id);
    if (it == d_->configs.end()) return std::nullopt;
    for (const auto& c : it->second)
        if (c.application == application && c.attribute == attribute) return c.value;
    return std::nullopt;
}

bool fas_directory::set_password(std::string_view username, std::string_view password)
{
    // Hash outside the lock: MD5-crypt is deliberately slow.
    std::string hash = fas_crypt_md5(password, salt_for(username));
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    auto* p = d_->find_person(username);
    if (!p) return false;
    p->old_password = std::move(p->password);
    p->password = std::move(hash);
    return true;
}

void fas_directory::touch_last_seen(std::int64_t person_id, fas_time when)
{
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    auto it = d_->person_by_id.find(person_id);
    if (it != d_->person_by_id.end()) d_->people[it->second].last_seen = when;
}

std::int64_t fas_directory::bump_certificate_serial(std::int64_t person_id)
{
    std::unique_lock lock(d_->mutex);
    ++d_->generation;
    auto it = d_->person_by_id.find(person_id);
    if (it == d_->person_by_id.end()) return 0;
    return ++d_->people[it->second].certificate_serial;
}

} // namespace fedora::emulator
