// The in-memory Bodhi database, its rules (karma, requests, overrides) and the
// deterministic generator behind it.
#include <fedora/emulator/bodhi.hpp>

#include "bodhi_web.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <set>

namespace fedora::emulator {

// ---------------------------------------------------------------------------------------------
// Time
namespace {

constexpr bodhi_time day = 86400;

// Howard Hinnant's civil calendar algorithms: no dependency on the C library's time zone.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil
{
    std::int64_t y;
    unsigned m, d;
};

constexpr civil civil_from_days(std::int64_t z) noexcept
{
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

bool read_digits(std::string_view& s, std::size_t n, int& out)
{
    if (s.size() < n)
        return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    s.remove_prefix(n);
    return true;
}

bool eat(std::string_view& s, char c)
{
    if (s.empty() || s.front() != c)
        return false;
    s.remove_prefix(1);
    return true;
}

} // namespace

std::string format_bodhi_time(bodhi_time t)
{
    std::int64_t days = t >= 0 ? t / day : (t - day + 1) / day;
    std::int64_t secs = t - days * day;
    civil c = civil_from_days(days);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld", static_cast<long long>(c.y), c.m, c.d,
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60));
    return buf;
}

std::optional<bodhi_time> parse_bodhi_time(std::string_view s)
{
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (!read_digits(s, 4, y) || !eat(s, '-') || !read_digits(s, 2, mo) || !eat(s, '-') || !read_digits(s, 2, d))
        return std::nullopt;
    if (!s.empty()) {
        if (!eat(s, ' ') && !eat(s, 'T'))
            return std::nullopt;
        if (!read_digits(s, 2, h) || !eat(s, ':') || !read_digits(s, 2, mi))
            return std::nullopt;
        if (eat(s, ':') && !read_digits(s, 2, se))
            return std::nullopt;
        if (eat(s, '.')) {
            std::size_t n = 0;
            while (n < s.size() && s[n] >= '0' && s[n] <= '9')
                ++n;
            if (n == 0)
                return std::nullopt;
            s.remove_prefix(n);
        }
        if (s == "Z" || s == "+00:00")
            s = {};
        if (!s.empty())
            return std::nullopt;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return std::nullopt;
    auto days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    // Reject 2015-02-31 and the like: the date must round-trip.
    auto back = civil_from_days(days);
    if (back.m != static_cast<unsigned>(mo) || back.d != static_cast<unsigned>(d))
        return std::nullopt;
    return days * day + h * 3600 + mi * 60 + se;
}

// ---------------------------------------------------------------------------------------------
// Enumerations
namespace {

constexpr std::array<std::string_view, 6> status_names{"pending", "testing", "stable", "unpushed", "obsolete", "processing"};
constexpr std::array<std::string_view, 6> request_names{"none", "testing", "stable", "obsolete", "unpush", "revoke"};
constexpr std::array<std::string_view, 4> type_names{"bugfix", "security", "newpackage", "enhancement"};
constexpr std::array<std::string_view, 5> severity_names{"unspecified", "urgent", "high", "medium", "low"};
constexpr std::array<std::string_view, 3> suggest_names{"unspecified", "reboot", "logout"};
constexpr std::array<std::string_view, 4> release_state_names{"disabled", "pending", "current", "archived"};

template <class E, std::size_t N>
std::optional<E> parse_enum(const std::array<std::string_view, N>& names, std::string_view s, std::size_t first = 0)
{
    for (std::size_t i = first; i < N; ++i)
        if (names[i] == s)
            return static_cast<E>(i);
    return std::nullopt;
}

template <std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, std::size_t i) noexcept
{
    return i < N ? names[i] : std::string_view("unknown");
}

} // namespace

std::string_view to_string(update_status v) noexcept { return name_of(status_names, static_cast<std::size_t>(v)); }
std::string_view to_string(update_request v) noexcept { return name_of(request_names, static_cast<std::size_t>(v)); }
std::string_view to_string(update_type v) noexcept { return name_of(type_names, static_cast<std::size_t>(v)); }
std::string_view to_string(update_severity v) noexcept { return name_of(severity_names, static_cast<std::size_t>(v)); }
std::string_view to_string(update_suggest v) noexcept { return name_of(suggest_names, static_cast<std::size_t>(v)); }
std::string_view to_string(release_state v) noexcept { return name_of(release_state_names, static_cast<std::size_t>(v)); }

std::optional<update_status> parse_update_status(std::string_view s) noexcept
{
    return parse_enum<update_status>(status_names, s);
}
std::optional<update_request> parse_update_request(std::string_view s) noexcept
{
    return parse_enum<update_request>(request_names, s, 1);
}
std::optional<update_type> parse_update_type(std::string_view s) noexcept
{
    return parse_enum<update_type>(type_names, s);
}
std::optional<update_severity> parse_update_severity(std::string_view s) noexcept
{
    return parse_enum<update_severity>(severity_names, s);
}
std::optional<update_suggest> parse_update_suggest(std::string_view s) noexcept
{
    return parse_enum<update_suggest>(suggest_names, s);
}
std::optional<release_state> parse_release_state(std::string_view s) noexcept
{
    return parse_enum<release_state>(release_state_names, s);
}

void bodhi_outcome::fail(unsigned http_status, std::string location, std::string name, std::string description)
{
    status = http_status;
    errors.push_back({std::move(location), std::move(name), std::move(description)});
}

// ---------------------------------------------------------------------------------------------
// Helpers
namespace {

constexpr std::string_view system_user = "bodhi";
constexpr std::string_view not_yet_tested_msg =
    "This update has not yet met the minimum testing requirements defined in the "
    "Package Update Acceptance Criteria";

std::uint64_t splitmix64(std::uint64_t& x) noexcept
{
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::string hex64(std::uint64_t v, std::size_t digits = 16)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(digits, '0');
    for (std::size_t i = 0; i < digits; ++i) {
        out[digits - 1 - i] = hex[v & 15];
        v >>= 4;
    }
    return out;
}

struct nvr_parts
{
    std::string_view name, version, release;
};

std::optional<nvr_parts> split_nvr(std::string_view nvr)
{
    if (nvr.empty() || nvr.size() > 255)
        return std::nullopt;
    for (char c : nvr) {
        auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || c == '.' || c == '_' || c == '+' || c == '-' || c == '~' || c == '^'))
            return std::nullopt;
    }
    auto r = nvr.rfind('-');
    if (r == std::string_view::npos || r == 0 || r + 1 == nvr.size())
        return std::nullopt;
    auto v = nvr.rfind('-', r - 1);
    if (v == std::string_view::npos || v == 0 || v + 1 == r)
        return std::nullopt;
    return nvr_parts{nvr.substr(0, v), nvr.substr(v + 1, r - v - 1), nvr.substr(r + 1)};
}

// "a-1-1.fc22, b-1-1.fc22" and "a-1-1.fc22 b-1-1.fc22" -> "a-1-1.fc22,b-1-1.fc22"
std::string normalize_title(std::string_view key)
{
    std::string out, cur;
    auto flush = [&] {
        if (cur.empty())
            return;
        if (!out.empty())
            out.push_back(',');
        out += cur;
        cur.clear();
    };
    for (char c : key) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c)))
            flush();
        else
            cur.push_back(c);
    }
    flush();
    return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}

template <class T>
bool contains_value(const std::vector<T>& v, const T& x)
{
    return std::find(v.begin(), v.end(), x) != v.end();
}

std::string request_description(update_request r)
{
    switch (r) {
    case update_request::testing: return "testing";
    case update_request::stable: return "stable";
    case update_request::obsolete: return "obsolete";
    case update_request::unpush: return "unpush";
    case update_request::revoke: return "revoke";
    default: return "none";
    }
}

} // namespace

// ---------------------------------------------------------------------------------------------
// The generator
struct bodhi_state::generator
{
    bodhi_state& s;
    std::uint64_t x;
    std::vector<std::string> commenters{};

    std::uint64_t next() { return splitmix64(x); }
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }

    template <class T>
    const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

    void run();
    void make_update(std::size_t i, const std::vector<std::uint32_t>& pool);
    void make_bulk_update(std::size_t k, std::uint32_t package_id);
    std::uint32_t add_comment(bodhi_update& u, std::string author, std::string text, int karma, int critpath,
                              bodhi_time when);
};

std::uint32_t bodhi_state::generator::add_comment(bodhi_update& u, std::string author, std::string text, int karma,
                                                  int critpath, bodhi_time when)
{
    bodhi_comment c;
    c.id = static_cast<std::uint32_t>(s.comments_.size() + 1);
    c.update_id = u.id;
    c.author = std::move(author);
    c.text = std::move(text);
    c.karma = c.author == u.submitter ? 0 : karma;
    c.karma_critpath = c.author == u.submitter ? 0 : critpath;
    c.timestamp = std::min(when, s.now_);
    s.comments_.push_back(std::move(c));
    u.comments.push_back(s.comments_.back().id);
    return s.comments_.back().id;
}

void bodhi_state::generator::run()
{
    // Users
    s.add_user("alice", {"packager"});
    s.add_user("bob", {"packager"});
    s.add_user("carol", {"packager", "proventesters"});
    s.add_user("dave", {});
    s.add_user("admin", {"packager", "releng", "bodhiadmin"});
    auto& bodhi = s.add_user(std::string(system_user), {});
    bodhi.password.clear();
    bodhi.human_name = "Bodhi";
    std::vector<std::string> packagers{"alice", "bob", "carol"};
    commenters = {"alice", "bob", "carol", "dave", "admin"};
    for (std::size_t i = 1; i <= s.params_.extra_users; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "tester%02zu", i);
        std::vector<std::string> groups;
        if (i % 2 == 1)
            groups.push_back("packager");
        if (i % 3 == 0)
            groups.push_back("proventesters");
        auto& u = s.add_user(name, groups);
        u.human_name = "Tester " + std::string(name + 6);
        if (i % 2 == 1)
            packagers.push_back(u.name);
        commenters.push_back(u.name);
    }

    // Releases
    s.add_release("F21", "F21", "Fedora 21", "21", "FEDORA", "f21", "fc21", false, release_state::current);
    s.add_release("F22", "F22", "Fedora 22", "22", "FEDORA", "f22", "fc22", false, release_state::current);
    s.add_release("F23", "F23", "Fedora 23", "23", "FEDORA", "f23", "fc23", false, release_state::pending);
    s.add_release("EPEL-7", "EL-7", "Fedora EPEL 7", "7", "FEDORA-EPEL", "epel7", "el7", true, release_state::current);
    s.add_release("EPEL-6", "EL-6", "Fedora EPEL 6", "6", "FEDORA-EPEL", "el6", "el6", true, release_state::current);

    // Packages
    struct fixed_package
    {
        const char* name;
        std::vector<std::string> committers;
        bool critpath, reboot;
    };
    const std::vector<fixed_package> fixed{
        {"foo", {"alice"}, false, false},
        {"bar", {"alice", "bob"}, false, false},
        {"python-fedora", {"alice", "bob"}, false, false},
        {"kernel", {"carol"}, true, true},
        {"glibc", {"bob"}, true, true},
        {"systemd", {"bob", "carol"}, true, false},
        {"firefox", {"bob"}, false, false},
    };
    std::vector<std::uint32_t> pool;
    for (const auto& f : fixed) {
        auto& p = s.ensure_package(f.name);
        p.committers = f.committers;
        p.critpath = f.critpath;
        p.suggest_reboot = f.reboot;
        pool.push_back(p.id);
    }
    static const std::array<const char*, 5> prefixes{"python-", "perl-", "rubygem-", "golang-", ""};
    static const std::array<const char*, 16> words{"requests", "yaml", "six", "mock", "lxml", "nose", "jinja",
                                                   "tornado", "dateutil", "pillow", "sqlite", "zlib",
                                                   "gnome-shell", "vim", "emacs", "inkscape"};
    std::size_t generated = std::max<std::size_t>(24, s.params_.updates / 6);
    for (std::size_t i = 0; i < generated; ++i) {
        std::string name = std::string(prefixes[i % prefixes.size()]) + words[(i / prefixes.size()) % words.size()];
        if (i >= prefixes.size() * words.size())
            name += std::to_string(i / (prefixes.size() * words.size()));
        if (s.find_package(name))
            continue;
        auto& p = s.ensure_package(name);
        p.committers.push_back(pick(packagers));
        if (chance(40)) {
            const auto& second = pick(packagers);
            if (!contains(p.committers, second))
                p.committers.push_back(second);
        }
        pool.push_back(p.id);
    }
    auto& bulk = s.ensure_package(s.params_.bulk_package);
    bulk.committers = {"alice"};

    for (std::size_t i = 0; i < s.params_.updates; ++i)
        make_update(i, pool);
    for (std::size_t k = 0; k < s.params_.bulk_updates; ++k)
        make_bulk_update(k, bulk.id);

    // Buildroot overrides on some builds, a few of them expired.
    std::size_t nbuilds = s.builds_.size();
    for (std::size_t i = 5; i < nbuilds; i += 12) {
        auto& b = s.builds_[i];
        const auto* pkg = s.package(b.package_id);
        bodhi_override o;
        o.id = static_cast<std::uint32_t>(s.overrides_.size() + 1);
        o.build_id = b.id;
        o.submitter = pkg && !pkg->committers.empty() ? pkg->committers.front() : "alice";
        o.notes = "Needed to rebuild dependent packages of " + (pkg ? pkg->name : std::string("it"));
        o.submission_date = s.now_ - static_cast<bodhi_time>(below(25)) * day - static_cast<bodhi_time>(below(day)) - 60;
        o.expiration_date = o.submission_date + static_cast<bodhi_time>(7 + below(24)) * day;
        if (o.expiration_date <= s.now_)
            o.expired_date = o.expiration_date;
        b.override_id = o.id;
        s.overrides_.push_back(std::move(o));
    }
}

void bodhi_state::generator::make_update(std::size_t i, const std::vector<std::uint32_t>& pool)
{
    static const std::array<const char*, 8> comment_texts{
        "Works for me.", "Tested on my laptop, no regressions.", "Fixes the crash for me, thanks!",
        "Breaks printing here.", "LGTM", "Installed fine, basic functionality OK.",
        "This update makes the application hang on start.", "Verified the fix."};
    static const std::array<const char*, 6> bug_titles{
        "crashes on start", "fails to build from source", "segfault when opening a file",
        "memory leak in the daemon", "new upstream release available", "CVE: remote code execution"};

    const auto& pkg = *s.package(pool[below(pool.size())]);
    const auto& rel = s.releases_[below(s.releases_.size())];
    std::string version = std::to_string(1 + below(4)) + "." + std::to_string(below(20)) + "." + std::to_string(i);
    std::string nvr = pkg.name + "-" + version + "-1." + rel.nvr_suffix;
    bodhi_build* b = s.ensure_build(nvr);
    if (!b)
        return;

    bodhi_update u;
    u.id = static_cast<std::uint32_t>(s.updates_.size() + 1);
    u.builds = {b->id};
    u.release_id = rel.id;
    u.submitter = pkg.committers.empty() ? "alice" : pkg.committers[below(pkg.committers.size())];
    u.type = static_cast<update_type>(below(4));
    u.severity = static_cast<update_severity>(below(5));
    u.suggest = pkg.suggest_reboot ? update_suggest::reboot
                                   : (chance(10) ? update_suggest::logout : update_suggest::unspecified);
    u.critpath = pkg.critpath;
    u.autokarma = chance(85);
    u.stable_karma = chance(20) ? 1 + static_cast<int>(below(2)) : 3;
    u.unstable_karma = -3;
    u.close_bugs = chance(90);
    u.notes = "Update " + pkg.name + " to " + version + ".";
    std::size_t nbugs = below(3) + (u.type == update_type::security ? 1 : 0);
    for (std::size_t k = 0; k < nbugs; ++k) {
        auto id = static_cast<std::uint32_t>(1200000 + below(100000));
        bool security = u.type == update_type::security && k == 0;
        s.ensure_bug(id, security);
        auto& bug = s.bugs_[id];
        if (bug.title.rfind("Bug ", 0) == 0)
            bug.title = pkg.name + " " + bug_titles[security ? 5 : below(5)];
        if (!contains_value(u.bugs, id))
            u.bugs.push_back(id);
    }
    if (u.type == update_type::security)
        u.cves.push_back("CVE-2015-" + std::to_string(1000 + below(9000)));

    // Status mix: every status appears in any run of ten updates (processing every 37th).
    static const std::array<update_status, 10> cycle{
        update_status::pending, update_status::pending, update_status::testing, update_status::testing,
        update_status::testing, update_status::testing, update_status::stable, update_status::stable,
        update_status::obsolete, update_status::unpushed};
    u.status = i % 37 == 36 ? update_status::processing : cycle[i % cycle.size()];
    bodhi_time now = s.now_;
    std::vector<std::pair<bodhi_time, std::string>> system_comments;
    bool tested = false;
    bodhi_time testing_start = 0;
    switch (u.status) {
    case update_status::pending:
        u.date_submitted = now - static_cast<bodhi_time>(below(5 * day)) - 60;
        u.request = chance(80) ? update_request::testing : update_request::none;
        break;
    case update_status::testing:
    case update_status::unpushed:
    case update_status::processing:
        u.date_submitted = now - static_cast<bodhi_time>(below(21)) * day - static_cast<bodhi_time>(below(day)) - 7200;
        testing_start = std::min(now - 60, u.date_submitted + static_cast<bodhi_time>(3600 * (1 + below(12))));
        u.date_testing = testing_start;
        u.date_pushed = testing_start;
        u.pushed = u.status != update_status::unpushed;
        tested = true;
        if (u.status == update_status::testing && chance(15)) {
            u.request = update_request::stable;
            u.locked = chance(30);
        }
        if (u.status == update_status::processing) {
            u.request = update_request::stable;
            u.locked = true;
        }
        break;
    case update_status::stable:
        u.date_submitted = now - static_cast<bodhi_time>(30 + below(300)) * day - static_cast<bodhi_time>(below(day));
        testing_start = u.date_submitted + day;
        u.date_testing = testing_start;
        u.date_stable = testing_start + static_cast<bodhi_time>(7 + below(10)) * day;
        u.date_pushed = u.date_stable;
        u.date_approved = u.date_stable;
        u.pushed = true;
        tested = true;
        break;
    default: // obsolete
        u.date_submitted = now - static_cast<bodhi_time>(20 + below(200)) * day;
        if (chance(50)) {
            testing_start = u.date_submitted + day;
            u.date_testing = testing_start;
            u.date_pushed = testing_start;
            u.pushed = true;
            tested = true;
        }
        break;
    }
    if (chance(30))
        u.date_modified = std::min(now, u.date_submitted + static_cast<bodhi_time>(below(3600)));
    u.alias = s.make_alias(rel, u.id, u.date_submitted);
    b->update_id = u.id;

    add_comment(u, std::string(system_user), "This update has been submitted for testing by " + u.submitter + ". ",
                0, 0, u.date_submitted + 1);
    if (tested) {
        add_comment(u, std::string(system_user), "This update has been pushed to testing.", 0, 0, testing_start);
        std::size_t n = below(5);
        std::vector<bodhi_time> times;
        bodhi_time end = u.date_stable.value_or(now);
        for (std::size_t k = 0; k < n; ++k)
            times.push_back(testing_start + 1 + static_cast<bodhi_time>(below(static_cast<std::uint64_t>(std::max<bodhi_time>(1, end - testing_start - 2)))));
        std::sort(times.begin(), times.end());
        for (auto t : times) {
            const auto& author = pick(commenters);
            auto roll = below(10);
            int karma = roll < 5 ? 1 : roll < 8 ? 0 : -1;
            int crit = u.critpath && author == "carol" ? karma : 0;
            // Texts 3 and 6 complain; the others praise.
            static const std::array<std::size_t, 6> praise{0, 1, 2, 4, 5, 7};
            const char* text = comment_texts[karma < 0 ? (chance(50) ? 3 : 6) : praise[below(praise.size())]];
            add_comment(u, author, text, karma, crit, t);
        }
    }
    if (u.status == update_status::stable)
        add_comment(u, std::string(system_user), "This update has been pushed to stable.", 0, 0, *u.date_stable);
    if (u.status == update_status::obsolete)
        add_comment(u, std::string(system_user), "This update has been obsoleted.", 0, 0,
                    std::max(u.date_submitted + 2, testing_start + 2));
    if (u.status == update_status::unpushed)
        add_comment(u, std::string(system_user), "This update has been unpushed.", 0, 0, now - 30);
    s.updates_.push_back(std::move(u));
    auto& stored = s.updates_.back();
    s.recompute_karma(stored);
    s.index_update(stored);
}

void bodhi_state::generator::make_bulk_update(std::size_t k, std::uint32_t package_id)
{
    const auto* rel = s.find_release("F22");
    std::string nvr = s.packages_[package_id - 1].name + "-1.0." + std::to_string(k) + "-1.fc22";
    bodhi_build* b = s.ensure_build(nvr);
    if (!b || !rel)
        return;
    bodhi_update u;
    u.id = static_cast<std::uint32_t>(s.updates_.size() + 1);
    u.builds = {b->id};
    u.release_id = rel->id;
    u.submitter = "alice";
    u.status = update_status::testing;
    u.notes = "Bulk update number " + std::to_string(k) + ".";
    // Ten minutes apart, newest first for k = 0: ordering is total and stable.
    u.date_submitted = s.now_ - day - static_cast<bodhi_time>(k + 1) * 600;
    u.date_testing = u.date_submitted + 60;
    u.date_pushed = u.date_testing;
    u.pushed = true;
    u.alias = s.make_alias(*rel, u.id, u.date_submitted);
    b->update_id = u.id;
    add_comment(u, std::string(system_user), "This update has been submitted for testing by alice. ", 0, 0,
                u.date_submitted + 1);
    add_comment(u, std::string(system_user), "This update has been pushed to testing.", 0, 0, *u.date_testing);
    s.updates_.push_back(std::move(u));
    s.recompute_karma(s.updates_.back());
    s.index_update(s.updates_.back());
}

// ---------------------------------------------------------------------------------------------
// bodhi_state: construction and lookups
bodhi_state::bodhi_state(const bodhi_data_params& params) : params_(params)
{
    now_ = params_.start_time;
    if (now_ == 0) {
        auto t = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
        now_ = t - t % 60;
    }
    std::uint64_t x = params_.seed ^ 0x6f70656e6964ULL;
    openid_secret_ = hex64(splitmix64(x)) + hex64(splitmix64(x)) + hex64(splitmix64(x)) + hex64(splitmix64(x));
    generator g{*this, params_.seed};
    g.run();
}

void bodhi_state::advance_clock(bodhi_time seconds)
{
    if (seconds <= 0)
        return;
    now_ += seconds;
    for (auto& o : overrides_)
        if (!o.expired_date && o.expiration_date <= now_)
            o.expired_date = o.expiration_date;
}

std::string bodhi_state::next_token()
{
    std::uint64_t x = params_.seed * 0x2545f4914f6cdd1dULL + (++token_counter_);
    std::uint64_t a = splitmix64(x);
    std::uint64_t b = splitmix64(x);
    // The counter keeps tokens unique; the mixed bits keep them unguessable enough for tests.
    return hex64(a) + hex64(b) + hex64(token_counter_, 8);
}

bodhi_user& bodhi_state::add_user(std::string name, std::vector<std::string> groups)
{
    bodhi_user u;
    u.id = static_cast<std::uint32_t>(users_.size() + 1);
    u.password = name + "-pass";
    u.email = name + "@example.org";
    u.human_name = name;
    if (!u.human_name.empty())
        u.human_name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(u.human_name[0])));
    u.name = std::move(name);
    u.groups = std::move(groups);
    user_index_[u.name] = u.id;
    users_.push_back(std::move(u));
    return users_.back();
}

bodhi_release& bodhi_state::add_release(std::string name, std::string bodhi1_name, std::string long_name,
                                        std::string version, std::string id_prefix, std::string dist_tag,
                                        std::string nvr_suffix, bool epel, release_state state)
{
    bodhi_release r;
    r.id = static_cast<std::uint32_t>(releases_.size() + 1);
    r.name = std::move(name);
    r.bodhi1_name = std::move(bodhi1_name);
    r.long_name = std::move(long_name);
    r.version = std::move(version);
    r.id_prefix = std::move(id_prefix);
    r.branch = dist_tag;
    r.dist_tag = std::move(dist_tag);
    r.nvr_suffix = std::move(nvr_suffix);
    if (epel) {
        r.stable_tag = r.dist_tag;
        r.testing_tag = r.dist_tag + "-testing";
        r.candidate_tag = r.dist_tag + "-testing-candidate";
        r.pending_testing_tag = r.dist_tag + "-testing-pending";
        r.pending_stable_tag = r.dist_tag + "-pending";
        r.mandatory_days_in_testing = 14;
    } else {
        r.stable_tag = r.dist_tag + "-updates";
        r.testing_tag = r.dist_tag + "-updates-testing";
        r.candidate_tag = r.dist_tag + "-updates-candidate";
        r.pending_testing_tag = r.dist_tag + "-updates-testing-pending";
        r.pending_stable_tag = r.dist_tag + "-updates-pending";
        r.mandatory_days_in_testing = 7;
    }
    r.override_tag = r.dist_tag + "-override";
    r.state = state;
    releases_.push_back(std::move(r));
    return releases_.back();
}

bodhi_package& bodhi_state::ensure_package(std::string_view name)
{
    if (auto it = package_index_.find(name); it != package_index_.end())
        return packages_[it->second - 1];
    bodhi_package p;
    p.id = static_cast<std::uint32_t>(packages_.size() + 1);
    p.name = std::string(name);
    package_index_[p.name] = p.id;
    packages_.push_back(std::move(p));
    return packages_.back();
}

bodhi_build* bodhi_state::ensure_build(std::string_view nvr)
{
    if (auto it = build_index_.find(nvr); it != build_index_.end())
        return &builds_[it->second - 1];
    auto parts = split_nvr(nvr);
    const bodhi_release* rel = release_of_nvr(nvr);
    if (!parts || !rel)
        return nullptr;
    auto& pkg = ensure_package(parts->name);
    bodhi_build b;
    b.id = static_cast<std::uint32_t>(builds_.size() + 1);
    b.nvr = std::string(nvr);
    b.package_id = pkg.id;
    b.release_id = rel->id;
    build_index_[b.nvr] = b.id;
    builds_.push_back(std::move(b));
    return &builds_.back();
}

void bodhi_state::ensure_bug(std::uint32_t bug_id, bool security)
{
    auto [it, inserted] = bugs_.try_emplace(bug_id);
    if (inserted) {
        it->second.bug_id = bug_id;
        it->second.title = "Bug " + std::to_string(bug_id);
    }
    if (security)
        it->second.security = true;
}

std::string bodhi_state::make_alias(const bodhi_release& r, std::uint32_t update_id, bodhi_time t) const
{
    std::string year = format_bodhi_time(t).substr(0, 4);
    std::uint64_t x = params_.seed * 0x9e3779b97f4a7c15ULL + update_id;
    for (;;) {
        std::string alias = r.id_prefix + "-" + year + "-" + hex64(splitmix64(x), 10);
        if (!alias_index_.count(alias))
            return alias;
    }
}

void bodhi_state::index_update(const bodhi_update& u)
{
    alias_index_[u.alias] = u.id;
    title_index_[title(u, ',')] = u.id;
}

void bodhi_state::unindex_update(const bodhi_update& u)
{
    title_index_.erase(title(u, ','));
}

const bodhi_user* bodhi_state::find_user(std::string_view name) const
{
    auto it = user_index_.find(name);
    return it == user_index_.end() ? nullptr : &users_[it->second - 1];
}

const bodhi_user* bodhi_state::find_user(std::uint32_t id) const
{
    return id >= 1 && id <= users_.size() ? &users_[id - 1] : nullptr;
}

const bodhi_release* bodhi_state::find_release(std::string_view key) const
{
    for (const auto& r : releases_)
        if (bodhi_web::iequals(r.name, key) || bodhi_web::iequals(r.bodhi1_name, key)
            || bodhi_web::iequals(r.long_name, key) || bodhi_web::iequals(r.dist_tag, key))
            return &r;
    return nullptr;
}

const bodhi_release* bodhi_state::release(std::uint32_t id) const
{
    return id >= 1 && id <= releases_.size() ? &releases_[id - 1] : nullptr;
}

const bodhi_package* bodhi_state::find_package(std::string_view name) const
{
    auto it = package_index_.find(name);
    return it == package_index_.end() ? nullptr : &packages_[it->second - 1];
}

const bodhi_package* bodhi_state::package(std::uint32_t id) const
{
    return id >= 1 && id <= packages_.size() ? &packages_[id - 1] : nullptr;
}

const bodhi_build* bodhi_state::find_build(std::string_view nvr) const
{
    auto it = build_index_.find(nvr);
    return it == build_index_.end() ? nullptr : &builds_[it->second - 1];
}

const bodhi_build* bodhi_state::build(std::uint32_t id) const
{
    return id >= 1 && id <= builds_.size() ? &builds_[id - 1] : nullptr;
}

const bodhi_update* bodhi_state::find_update(std::string_view key) const
{
    if (key.empty())
        return nullptr;
    std::uint32_t id = 0;
    if (auto it = alias_index_.find(key); it != alias_index_.end())
        id = it->second;
    else if (auto t = title_index_.find(normalize_title(key)); t != title_index_.end())
        id = t->second;
    const auto* u = update(id);
    return u && !u->deleted ? u : nullptr;
}

const bodhi_update* bodhi_state::update(std::uint32_t id) const
{
    return id >= 1 && id <= updates_.size() ? &updates_[id - 1] : nullptr;
}

bodhi_update* bodhi_state::mutable_update(std::uint32_t id)
{
    return id >= 1 && id <= updates_.size() && !updates_[id - 1].deleted ? &updates_[id - 1] : nullptr;
}

const bodhi_comment* bodhi_state::comment(std::uint32_t id) const
{
    return id >= 1 && id <= comments_.size() ? &comments_[id - 1] : nullptr;
}

const bodhi_override* bodhi_state::override_record(std::uint32_t id) const
{
    return id >= 1 && id <= overrides_.size() ? &overrides_[id - 1] : nullptr;
}

const bodhi_bug* bodhi_state::bug(std::uint32_t bug_id) const
{
    auto it = bugs_.find(bug_id);
    return it == bugs_.end() ? nullptr : &it->second;
}

const bodhi_release* bodhi_state::release_of_nvr(std::string_view nvr) const
{
    auto parts = split_nvr(nvr);
    if (!parts)
        return nullptr;
    std::string_view rel = parts->release;
    while (!rel.empty()) {
        auto dot = rel.find('.');
        std::string_view token = rel.substr(0, dot);
        for (const auto& r : releases_) {
            if (token == r.nvr_suffix
                || (token.size() > r.nvr_suffix.size() && token.substr(0, r.nvr_suffix.size()) == r.nvr_suffix
                    && token[r.nvr_suffix.size()] == '_'))
                return &r;
        }
        if (dot == std::string_view::npos)
            break;
        rel = rel.substr(dot + 1);
    }
    return nullptr;
}

std::string bodhi_state::title(const bodhi_update& u, char separator) const
{
    std::string out;
    for (auto id : u.builds) {
        if (const auto* b = build(id)) {
            if (!out.empty())
                out.push_back(separator);
            out += b->nvr;
        }
    }
    return out;
}

std::string bodhi_state::package_name_of_update(const bodhi_update& u) const
{
    if (u.builds.empty())
        return {};
    const auto* b = build(u.builds.front());
    const auto* p = b ? package(b->package_id) : nullptr;
    return p ? p->name : std::string();
}

bool bodhi_state::critpath_approved(const bodhi_update& u) const
{
    return u.karma_critpath >= params_.critpath_min_karma;
}

unsigned bodhi_state::days_in_testing(const bodhi_update& u) const
{
    if (!u.date_testing || *u.date_testing > now_)
        return 0;
    return static_cast<unsigned>((now_ - *u.date_testing) / day);
}

namespace {

// The votes that count: each author's latest non-zero vote since the last reset, skipping
// anonymous authors, the submitter and the system user.
template <class Comments>
std::map<std::string, std::pair<int, int>> counted_votes(const bodhi_update& u, const Comments& comments)
{
    std::map<std::string, std::pair<int, int>> votes; // author -> (karma, critpath)
    for (std::size_t i = u.karma_counted_from; i < u.comments.size(); ++i) {
        auto id = u.comments[i];
        if (id == 0 || id > comments.size())
            continue;
        const auto& c = comments[id - 1];
        if (c.anonymous || c.author == u.submitter || c.author == system_user)
            continue;
        auto& v = votes[c.author];
        if (c.karma != 0)
            v.first = c.karma;
        if (c.karma_critpath != 0)
            v.second = c.karma_critpath;
    }
    return votes;
}

} // namespace

bool bodhi_state::meets_testing_requirements(const bodhi_update& u) const
{
    unsigned days = days_in_testing(u);
    if (u.critpath) {
        if (critpath_approved(u))
            return true;
        bool negative = false;
        for (const auto& [author, v] : counted_votes(u, comments_))
            negative = negative || v.first < 0 || v.second < 0;
        return !negative && days >= params_.critpath_days_without_negative_karma;
    }
    if (u.stable_karma > 0 && u.karma >= u.stable_karma)
        return true;
    const auto* rel = release(u.release_id);
    return days >= (rel ? rel->mandatory_days_in_testing : 7u);
}

void bodhi_state::recompute_karma(bodhi_update& u)
{
    int karma = 0, critpath = 0;
    for (const auto& [author, v] : counted_votes(u, comments_)) {
        karma += v.first;
        critpath += v.second;
    }
    u.karma = karma;
    u.karma_critpath = critpath;
}

std::vector<std::string> bodhi_state::tags_of(const bodhi_build& b) const
{
    std::vector<std::string> tags;
    const auto* rel = release(b.release_id);
    if (!rel)
        return tags;
    const bodhi_update* u = b.update_id ? update(b.update_id) : nullptr;
    if (u && u->deleted)
        u = nullptr;
    if (!u) {
        tags.push_back(rel->candidate_tag);
    } else if (u->status == update_status::testing) {
        tags.push_back(rel->testing_tag);
        if (u->request == update_request::stable)
            tags.push_back(rel->pending_stable_tag);
    } else if (u->status == update_status::stable) {
        tags.push_back(rel->stable_tag);
    } else {
        tags.push_back(rel->candidate_tag);
        if (u->request == update_request::testing)
            tags.push_back(rel->pending_testing_tag);
        else if (u->request == update_request::stable)
            tags.push_back(rel->pending_stable_tag);
    }
    if (b.override_id) {
        const auto* o = override_record(b.override_id);
        if (o && !o->expired_date)
            tags.push_back(rel->override_tag);
    }
    return tags;
}

bool bodhi_state::is_admin(std::string_view user) const
{
    const auto* u = find_user(user);
    if (!u)
        return false;
    return contains(u->groups, "releng") || contains(u->groups, "bodhiadmin") || contains(u->groups, "security_respons");
}

bool bodhi_state::is_packager(std::string_view user) const
{
    const auto* u = find_user(user);
    return u && (contains(u->groups, "packager") || is_admin(user));
}

bool bodhi_state::can_edit(const bodhi_update& u, std::string_view user) const
{
    if (user.empty())
        return false;
    if (u.submitter == user || is_admin(user))
        return true;
    for (auto id : u.builds) {
        const auto* b = build(id);
        const auto* p = b ? package(b->package_id) : nullptr;
        if (p && contains(p->committers, user))
            return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Queries
std::vector<std::uint32_t> bodhi_state::query_updates(const update_filter& f) const
{
    std::vector<std::string> titles;
    for (const auto& t : f.titles)
        titles.push_back(normalize_title(t));
    auto in_range = [](const std::optional<bodhi_time>& value, const std::optional<bodhi_time>& since,
                       const std::optional<bodhi_time>& before) {
        if (!since && !before)
            return true;
        if (!value)
            return false;
        return (!since || *value >= *since) && (!before || *value < *before);
    };
    std::vector<std::uint32_t> out;
    for (const auto& u : updates_) {
        if (u.deleted)
            continue;
        if (!f.aliases.empty() && !contains(f.aliases, u.alias))
            continue;
        if (!titles.empty() && !contains(titles, title(u, ',')))
            continue;
        if (!f.releases.empty() && !contains_value(f.releases, u.release_id))
            continue;
        if (!f.statuses.empty() && !contains_value(f.statuses, u.status))
            continue;
        if (!f.requests.empty() && !contains_value(f.requests, u.request))
            continue;
        if (f.type && u.type != *f.type)
            continue;
        if (f.severity && u.severity != *f.severity)
            continue;
        if (f.suggest && u.suggest != *f.suggest)
            continue;
        if (f.critpath && u.critpath != *f.critpath)
            continue;
        if (f.locked && u.locked != *f.locked)
            continue;
        if (f.pushed && u.pushed != *f.pushed)
            continue;
        if (f.critpath_approved && critpath_approved(u) != *f.critpath_approved)
            continue;
        if (!f.user.empty() && u.submitter != f.user)
            continue;
        if (!f.bugs.empty()
            && std::none_of(u.bugs.begin(), u.bugs.end(), [&](auto b) { return contains_value(f.bugs, b); }))
            continue;
        if (!f.cves.empty()
            && std::none_of(u.cves.begin(), u.cves.end(), [&](const auto& c) { return contains(f.cves, c); }))
            continue;
        if (!f.builds.empty() || !f.packages.empty()) {
            bool build_hit = f.builds.empty(), package_hit = f.packages.empty();
            for (auto id : u.builds) {
                const auto* b = build(id);
                if (!b)
                    continue;
                build_hit = build_hit || contains(f.builds, b->nvr);
                const auto* p = package(b->package_id);
                package_hit = package_hit || (p && contains(f.packages, p->name));
            }
            if (!build_hit || !package_hit)
                continue;
        }
        if (!f.like.empty() && title(u, ' ').find(f.like) == std::string::npos)
            continue;
        if (!in_range(std::optional<bodhi_time>(u.date_submitted), f.submitted_since, f.submitted_before)
            || !in_range(u.date_modified, f.modified_since, f.modified_before)
            || !in_range(u.date_pushed, f.pushed_since, f.pushed_before)
            || !in_range(u.date_approved, f.approved_since, f.approved_before))
            continue;
        out.push_back(u.id);
    }
    auto key = [&](std::uint32_t id) {
        const auto& u = updates_[id - 1];
        return f.order_by_date_pushed ? u.date_pushed.value_or(0) : u.date_submitted;
    };
    std::sort(out.begin(), out.end(), [&](auto a, auto b) {
        auto ka = key(a), kb = key(b);
        return ka != kb ? ka > kb : a > b;
    });
    return out;
}

std::vector<std::uint32_t> bodhi_state::query_overrides(const override_filter& f) const
{
    std::vector<std::uint32_t> out;
    for (const auto& o : overrides_) {
        const auto* b = build(o.build_id);
        if (!b)
            continue;
        // Only the latest override of a build is live; older ones were replaced.
        if (b->override_id != o.id)
            continue;
        if (!f.user.empty() && o.submitter != f.user)
            continue;
        if (f.expired && o.expired_date.has_value() != *f.expired)
            continue;
        if (!f.builds.empty() && !contains(f.builds, b->nvr))
            continue;
        if (!f.releases.empty() && !contains_value(f.releases, b->release_id))
            continue;
        if (!f.packages.empty()) {
            const auto* p = package(b->package_id);
            if (!p || !contains(f.packages, p->name))
                continue;
        }
        if (!f.like.empty() && b->nvr.find(f.like) == std::string::npos)
            continue;
        out.push_back(o.id);
    }
    std::sort(out.begin(), out.end(), [&](auto a, auto b) {
        const auto& oa = overrides_[a - 1];
        const auto& ob = overrides_[b - 1];
        return oa.submission_date != ob.submission_date ? oa.submission_date > ob.submission_date : a > b;
    });
    return out;
}

std::vector<std::uint32_t> bodhi_state::query_comments(const comment_filter& f) const
{
    std::vector<std::uint32_t> out;
    for (const auto& c : comments_) {
        const auto* u = update(c.update_id);
        if (!u || u->deleted)
            continue;
        if (!f.updates.empty() && !contains_value(f.updates, c.update_id))
            continue;
        if (!f.user.empty() && c.author != f.user)
            continue;
        if (!f.update_owner.empty() && u->submitter != f.update_owner)
            continue;
        if (f.anonymous && c.anonymous != *f.anonymous)
            continue;
        if (f.since && c.timestamp < *f.since)
            continue;
        if (!f.like.empty() && c.text.find(f.like) == std::string::npos)
            continue;
        if (!f.packages.empty()) {
            bool hit = false;
            for (auto id : u->builds) {
                const auto* b = build(id);
                const auto* p = b ? package(b->package_id) : nullptr;
                hit = hit || (p && contains(f.packages, p->name));
            }
            if (!hit)
                continue;
        }
        out.push_back(c.id);
    }
    std::sort(out.begin(), out.end(), [&](auto a, auto b) {
        const auto& ca = comments_[a - 1];
        const auto& cb = comments_[b - 1];
        return ca.timestamp != cb.timestamp ? ca.timestamp > cb.timestamp : a > b;
    });
    return out;
}

std::vector<std::pair<std::string, std::string>> bodhi_state::latest_builds(std::string_view package_name) const
{
    std::vector<std::pair<std::string, std::string>> out;
    const auto* pkg = find_package(package_name);
    if (!pkg)
        return out;
    for (const auto& rel : releases_) {
        std::map<std::string, std::uint32_t> newest; // tag -> build id
        for (const auto& b : builds_) {
            if (b.package_id != pkg->id || b.release_id != rel.id)
                continue;
            for (auto& tag : tags_of(b)) {
                auto& slot = newest[tag];
                slot = std::max(slot, b.id);
            }
        }
        for (const auto* tag : {&rel.candidate_tag, &rel.testing_tag, &rel.stable_tag, &rel.override_tag,
                                &rel.pending_testing_tag, &rel.pending_stable_tag}) {
            auto it = newest.find(*tag);
            if (it != newest.end())
                out.emplace_back(*tag, builds_[it->second - 1].nvr);
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Writes
std::uint32_t bodhi_state::add_system_comment(bodhi_update& u, std::string text)
{
    bodhi_comment c;
    c.id = static_cast<std::uint32_t>(comments_.size() + 1);
    c.update_id = u.id;
    c.author = std::string(system_user);
    c.text = std::move(text);
    c.timestamp = now_;
    comments_.push_back(std::move(c));
    u.comments.push_back(comments_.back().id);
    return comments_.back().id;
}

void bodhi_state::check_karma_thresholds(bodhi_update& u)
{
    if (!u.autokarma || u.locked)
        return;
    if (u.status == update_status::testing && u.request == update_request::none && u.stable_karma > 0
        && u.karma >= u.stable_karma && (!u.critpath || critpath_approved(u))) {
        u.request = update_request::stable;
        add_system_comment(u, "This update has reached " + std::to_string(u.karma)
                                  + " karma and has been submitted for stable.");
    } else if ((u.status == update_status::testing || u.status == update_status::pending) && u.unstable_karma < 0
               && u.karma <= u.unstable_karma) {
        u.status = update_status::unpushed;
        u.request = update_request::none;
        u.pushed = false;
        add_system_comment(u, "This update has reached the unstable karma threshold and has been unpushed.");
    }
}

bodhi_outcome bodhi_state::add_comment(const comment_params& p)
{
    bodhi_outcome o;
    bodhi_update* u = mutable_update(p.update_id);
    if (!u) {
        o.fail(404, "body", "update", "Invalid update");
        return o;
    }
    if (p.author.empty()) {
        o.fail(400, "body", "email", "You must provide an author");
        return o;
    }
    if (p.karma < -1 || p.karma > 1)
        o.fail(400, "body", "karma", "Karma must be one of (1, 0, -1), not " + std::to_string(p.karma));
    if (p.karma_critpath < -1 || p.karma_critpath > 1)
        o.fail(400, "body", "karma_critpath",
               "Karma must be one of (1, 0, -1), not " + std::to_string(p.karma_critpath));
    for (const auto& [bug_id, karma] : p.bug_feedback) {
        if (!contains_value(u->bugs, bug_id))
            o.fail(400, "body", "bug_feedback", "Invalid bug ID specified: " + std::to_string(bug_id));
        if (karma < -1 || karma > 1)
            o.fail(400, "body", "bug_feedback", "Karma must be one of (1, 0, -1), not " + std::to_string(karma));
    }
    for (const auto& [name, karma] : p.testcase_feedback)
        if (karma < -1 || karma > 1 || name.empty())
            o.fail(400, "body", "testcase_feedback", "Invalid testcase feedback for '" + name + "'");
    if (!o.ok())
        return o;

    int karma = p.karma, critpath = p.karma_critpath;
    if (p.author == u->submitter && (karma != 0 || critpath != 0)) {
        karma = critpath = 0;
        o.caveats.push_back({"karma", "You may not give karma to your own updates."});
    }
    if (!p.anonymous && karma != 0) {
        auto votes = counted_votes(*u, comments_);
        auto it = votes.find(p.author);
        if (it != votes.end() && it->second.first == -karma)
            o.caveats.push_back({"karma", "Your karma standing was reversed."});
    }
    bodhi_comment c;
    c.id = static_cast<std::uint32_t>(comments_.size() + 1);
    c.update_id = u->id;
    c.author = p.author;
    c.anonymous = p.anonymous;
    c.karma = karma;
    c.karma_critpath = critpath;
    c.text = p.text;
    c.timestamp = now_;
    c.bug_feedback = p.bug_feedback;
    c.testcase_feedback = p.testcase_feedback;
    comments_.push_back(std::move(c));
    u->comments.push_back(comments_.back().id);
    o.ids.push_back(comments_.back().id);
    recompute_karma(*u);
    if (!p.anonymous && p.author != system_user && (karma != 0 || critpath != 0))
        check_karma_thresholds(*u);
    o.message = "Comment successfully added.";
    return o;
}

bodhi_outcome bodhi_state::set_request(std::uint32_t update_id, update_request r, std::string_view user)
{
    bodhi_outcome o;
    bodhi_update* u = mutable_update(update_id);
    if (!u) {
        o.fail(404, "url", "id", "Invalid update id");
        return o;
    }
    const std::string t = title(*u, ' ');
    if (r == update_request::none) {
        o.fail(400, "body", "request", "\"none\" is not one of testing, stable, obsolete, unpush, revoke");
        return o;
    }
    if (!can_edit(*u, user)) {
        o.fail(403, "body", "request",
               std::string(user.empty() ? "anonymous" : user) + " does not have commit access to "
                   + package_name_of_update(*u));
        return o;
    }
    if (u->locked || u->status == update_status::processing) {
        o.fail(400, "body", "request", "Can't change the request on a locked update");
        return o;
    }
    o.ids.push_back(u->id);
    if (r == u->request) {
        o.message = t + " has already been submitted for " + request_description(r) + ".";
        return o;
    }
    const std::string who(user);
    switch (r) {
    case update_request::unpush:
        if (u->status != update_status::testing) {
            o.fail(400, "body", "request", "Can't unpush a " + std::string(to_string(u->status)) + " update");
            return o;
        }
        u->status = update_status::unpushed;
        u->request = update_request::none;
        u->pushed = false;
        add_system_comment(*u, "This update has been unpushed by " + who + ".");
        o.message = t + " has been unpushed.";
        return o;
    case update_request::revoke:
        if (u->request == update_request::none) {
            o.fail(400, "body", "request", "Can only revoke an update with an existing request");
            return o;
        }
        u->request = update_request::none;
        add_system_comment(*u, "This update's request has been revoked by " + who + ".");
        o.message = t + " has been revoked.";
        return o;
    case update_request::obsolete:
        if (u->status == update_status::stable) {
            o.fail(400, "body", "request", "Can't obsolete a stable update");
            return o;
        }
        if (u->status == update_status::obsolete) {
            o.fail(400, "body", "request", t + " is already obsolete");
            return o;
        }
        u->status = update_status::obsolete;
        u->request = update_request::none;
        add_system_comment(*u, "This update has been obsoleted by " + who + ".");
        o.message = t + " has been obsoleted.";
        return o;
    default: break;
    }

    // testing or stable
    if (u->status == update_status::stable) {
        o.fail(400, "body", "request", t + " is already stable");
        return o;
    }
    if (r == update_request::testing && u->status == update_status::testing) {
        o.fail(400, "body", "request", t + " is already in testing");
        return o;
    }
    update_request action = r;
    std::string notes;
    if (r == update_request::stable && !meets_testing_requirements(*u)) {
        if (u->status == update_status::testing || u->request == update_request::testing) {
            o.fail(400, "body", "request", std::string(not_yet_tested_msg));
            return o;
        }
        action = update_request::testing;
        notes = " " + std::string(not_yet_tested_msg) + ".";
        o.caveats.push_back({"request", std::string(not_yet_tested_msg)});
    }
    if (u->status == update_status::obsolete || u->status == update_status::unpushed)
        u->status = update_status::pending;
    u->request = action;
    u->pushed = u->status == update_status::testing;
    add_system_comment(*u, "This update has been submitted for " + request_description(action) + " by " + who + ".");
    o.message = t + " has been submitted for " + request_description(action) + "." + notes;
    return o;
}

bodhi_outcome bodhi_state::save_update(const update_save_params& p, std::string_view user)
{
    bodhi_outcome o;
    if (!find_user(user)) {
        o.fail(403, "body", "user", "Unknown user: " + std::string(user));
        return o;
    }
    if (!is_packager(user)) {
        o.fail(403, "body", "builds", std::string(user) + " is not a member of the packager group");
        return o;
    }
    std::vector<std::string> nvrs;
    for (const auto& b : p.builds)
        if (!b.empty() && !contains(nvrs, b))
            nvrs.push_back(b);
    if (nvrs.empty()) {
        o.fail(400, "body", "builds", "You may not submit an empty update");
        return o;
    }
    bodhi_update* edited = nullptr;
    if (!p.edited.empty()) {
        const auto* found = find_update(p.edited);
        edited = found ? mutable_update(found->id) : nullptr;
        if (!edited) {
            o.fail(400, "body", "edited", "Cannot find update to edit: " + p.edited);
            return o;
        }
        if (!can_edit(*edited, user)) {
            o.fail(403, "body", "edited",
                   std::string(user) + " does not have commit access to " + package_name_of_update(*edited));
            return o;
        }
        if (edited->locked) {
            o.fail(400, "body", "edited", "Cannot edit a locked update");
            return o;
        }
    }

    std::vector<std::pair<std::uint32_t, std::string>> seen_packages; // release id, package name
    std::vector<const bodhi_release*> build_releases;
    for (const auto& nvr : nvrs) {
        auto parts = split_nvr(nvr);
        if (!parts) {
            o.fail(400, "body", "builds", "Build does not exist: " + nvr);
            continue;
        }
        const auto* rel = release_of_nvr(nvr);
        if (!rel) {
            o.fail(400, "body", "builds", "Unable to determine release from build: " + nvr);
            continue;
        }
        if (rel->state == release_state::archived || rel->state == release_state::disabled) {
            o.fail(400, "body", "builds", "Cannot submit updates for " + rel->long_name);
            continue;
        }
        build_releases.push_back(rel);
        if (const auto* b = find_build(nvr); b && b->update_id) {
            const auto* owner = update(b->update_id);
            if (owner && !owner->deleted && (!edited || owner->id != edited->id))
                o.fail(400, "body", "builds", "Update for " + nvr + " already exists");
        }
        std::string name(parts->name);
        if (const auto* pkg = find_package(name);
            pkg && !pkg->committers.empty() && !is_admin(user) && !contains(pkg->committers, user))
            o.fail(403, "body", "builds", std::string(user) + " does not have commit access to " + name);
        std::pair<std::uint32_t, std::string> key{rel->id, name};
        if (std::find(seen_packages.begin(), seen_packages.end(), key) != seen_packages.end())
            o.fail(400, "body", "builds", "Multiple " + name + " builds for " + rel->name + " in one update");
        seen_packages.push_back(std::move(key));
        if (edited && rel->id != edited->release_id)
            o.fail(400, "body", "builds", "Cannot add a build of " + rel->name + " to an update for "
                                              + (release(edited->release_id) ? release(edited->release_id)->name : ""));
    }
    if (edited && edited->status == update_status::stable) {
        std::vector<std::string> current;
        for (auto id : edited->builds)
            current.push_back(builds_[id - 1].nvr);
        auto sorted_new = nvrs;
        std::sort(sorted_new.begin(), sorted_new.end());
        std::sort(current.begin(), current.end());
        if (sorted_new != current)
            o.fail(400, "body", "builds", "Cannot change the builds of a stable update");
    }
    if (!o.ok())
        return o;

    auto apply_fields = [&](bodhi_update& u) {
        u.type = p.type;
        u.severity = p.severity;
        u.suggest = p.suggest;
        u.notes = p.notes;
        u.autokarma = p.autokarma;
        u.stable_karma = p.stable_karma;
        u.unstable_karma = p.unstable_karma;
        u.close_bugs = p.close_bugs;
        u.require_bugs = p.require_bugs;
        u.require_testcases = p.require_testcases;
        u.requirements = p.requirements;
        u.bugs.clear();
        for (auto id : p.bugs) {
            ensure_bug(id, p.type == update_type::security);
            if (!contains_value(u.bugs, id))
                u.bugs.push_back(id);
        }
        u.critpath = false;
        for (auto id : u.builds) {
            const auto* pkg = package(builds_[id - 1].package_id);
            u.critpath = u.critpath || (pkg && pkg->critpath);
        }
    };

    const std::string who(user);
    if (edited) {
        std::vector<std::string> added, removed;
        std::vector<std::uint32_t> new_ids;
        for (const auto& nvr : nvrs) {
            bodhi_build* b = ensure_build(nvr);
            new_ids.push_back(b->id);
            if (!contains_value(edited->builds, b->id))
                added.push_back(nvr);
        }
        for (auto id : edited->builds)
            if (!contains_value(new_ids, id))
                removed.push_back(builds_[id - 1].nvr);
        unindex_update(*edited);
        for (auto id : edited->builds)
            builds_[id - 1].update_id = 0;
        edited->builds = new_ids;
        for (auto id : new_ids)
            builds_[id - 1].update_id = edited->id;
        index_update(*edited);
        apply_fields(*edited);
        edited->date_modified = now_;
        std::string text = who + " edited this update.";
        if (!added.empty() || !removed.empty()) {
            auto join = [](const std::vector<std::string>& v) {
                std::string s;
                for (const auto& x : v)
                    s += (s.empty() ? "" : ", ") + x;
                return s;
            };
            if (!added.empty())
                text += " New build(s): " + join(added) + ".";
            if (!removed.empty())
                text += " Removed build(s): " + join(removed) + ".";
            text += " Karma has been reset.";
            edited->karma_counted_from = edited->comments.size() + 1; // after the edit comment itself
            if (edited->status == update_status::testing || edited->status == update_status::unpushed
                || edited->status == update_status::obsolete)
                edited->status = update_status::pending;
            edited->request = update_request::testing;
            edited->pushed = false;
        }
        add_system_comment(*edited, text);
        recompute_karma(*edited);
        o.ids.push_back(edited->id);
        o.message = "Update successfully edited. " + title(*edited, ',') + " has been edited.";
        return o;
    }

    // One update per release, in the order the builds came.
    std::vector<std::uint32_t> release_order;
    for (const auto* rel : build_releases)
        if (!contains_value(release_order, rel->id))
            release_order.push_back(rel->id);
    std::string flash = "Update successfully created. ";
    for (auto rel_id : release_order) {
        bodhi_update u;
        u.id = static_cast<std::uint32_t>(updates_.size() + 1);
        u.release_id = rel_id;
        u.submitter = who;
        for (std::size_t i = 0; i < nvrs.size(); ++i) {
            if (build_releases[i]->id != rel_id)
                continue;
            bodhi_build* b = ensure_build(nvrs[i]);
            auto& pkg = packages_[b->package_id - 1];
            if (pkg.committers.empty())
                pkg.committers.push_back(who);
            b->update_id = u.id;
            u.builds.push_back(b->id);
        }
        u.date_submitted = now_;
        u.status = update_status::pending;
        u.alias = make_alias(*release(rel_id), u.id, now_);
        apply_fields(u);
        updates_.push_back(std::move(u));
        bodhi_update& stored = updates_.back();
        index_update(stored);
        o.ids.push_back(stored.id);
        if (p.request == update_request::testing || p.request == update_request::stable) {
            auto r = set_request(stored.id, p.request, user);
            for (auto& c : r.caveats)
                o.caveats.push_back(std::move(c));
            flash += r.ok() ? r.message + " " : r.errors.front().description + " ";
        }
    }
    o.message = flash;
    return o;
}

bodhi_outcome bodhi_state::delete_update(std::uint32_t update_id, std::string_view user)
{
    bodhi_outcome o;
    bodhi_update* u = mutable_update(update_id);
    if (!u) {
        o.fail(404, "url", "id", "Invalid update id");
        return o;
    }
    if (u->submitter != user && !is_admin(user)) {
        o.fail(403, "body", "update", "Cannot delete an update you did not submit");
        return o;
    }
    if (u->pushed || u->date_pushed || u->status == update_status::testing || u->status == update_status::stable) {
        o.fail(400, "body", "update", "Cannot delete a pushed update");
        return o;
    }
    std::string t = title(*u, ',');
    unindex_update(*u);
    alias_index_.erase(u->alias);
    for (auto id : u->builds)
        builds_[id - 1].update_id = 0;
    u->deleted = true;
    o.ids.push_back(u->id);
    o.message = "Deleted " + t;
    return o;
}

bodhi_outcome bodhi_state::save_override(const override_save_params& p, std::string_view user)
{
    bodhi_outcome o;
    if (!is_packager(user)) {
        o.fail(403, "body", "nvr", std::string(user.empty() ? "anonymous" : user) + " is not a member of the packager group");
        return o;
    }
    std::vector<std::string> nvrs;
    for (const auto& n : p.nvrs)
        if (!n.empty() && !contains(nvrs, n))
            nvrs.push_back(n);
    if (nvrs.empty()) {
        o.fail(400, "body", "nvr", "Required");
        return o;
    }
    if (!p.edited.empty() && (nvrs.size() != 1 || nvrs.front() != p.edited)) {
        o.fail(400, "body", "nvr", "Cannot combine multiple NVRs with editing a buildroot override.");
        return o;
    }
    if (p.expiration_date <= now_)
        o.fail(400, "body", "expiration_date", "Expiration date in the past");
    else if (p.expiration_date > now_ + static_cast<bodhi_time>(params_.override_max_days) * day)
        o.fail(400, "body", "expiration_date",
               "Expiration date may not be longer than " + std::to_string(params_.override_max_days));
    for (const auto& nvr : nvrs)
        if (!split_nvr(nvr) || !release_of_nvr(nvr))
            o.fail(400, "body", "nvr", "Invalid build: " + nvr);
    if (!o.ok())
        return o;

    const std::string who(user);
    if (!p.edited.empty()) {
        const auto* b = find_build(p.edited);
        if (!b || !b->override_id) {
            o.fail(404, "body", "edited", "No buildroot override for this build: " + p.edited);
            return o;
        }
        auto& ov = overrides_[b->override_id - 1];
        ov.notes = p.notes;
        ov.expiration_date = p.expiration_date;
        bool was_expired = ov.expired_date.has_value();
        if (p.expired) {
            if (was_expired && params_.quirks.reenable_expired_override)
                ov.expired_date.reset();
            else if (!was_expired)
                ov.expired_date = now_;
        } else if (was_expired) {
            ov.expired_date.reset();
        }
        o.ids.push_back(ov.id);
        o.message = ov.expired_date ? "Buildroot override for " + b->nvr + " successful untagged"
                                    : "Buildroot override for " + b->nvr + " successfully edited";
        return o;
    }

    for (const auto& nvr : nvrs) {
        const auto* b = find_build(nvr);
        if (b && b->override_id && !overrides_[b->override_id - 1].expired_date)
            o.fail(400, "body", "nvr", "Buildroot override for " + nvr + " already exists");
    }
    if (!o.ok())
        return o;
    for (const auto& nvr : nvrs) {
        bodhi_build* b = ensure_build(nvr);
        bodhi_override ov;
        ov.id = static_cast<std::uint32_t>(overrides_.size() + 1);
        ov.build_id = b->id;
        ov.submitter = who;
        ov.notes = p.notes;
        ov.submission_date = now_;
        ov.expiration_date = p.expiration_date;
        b->override_id = ov.id;
        overrides_.push_back(std::move(ov));
        o.ids.push_back(overrides_.back().id);
        const auto* rel = release(b->release_id);
        o.message = "Your buildroot override has been successfully tagged. It may take up to 20 minutes for the "
                    "buildroot override to appear in the "
            + rel->override_tag + " tag. You can run `koji wait-repo " + rel->dist_tag + "-build --build=" + nvr
            + "` to know when the override is available.";
    }
    return o;
}

bodhi_outcome bodhi_state::expire_override(std::string_view nvr, std::string_view user)
{
    bodhi_outcome o;
    const auto* b = find_build(nvr);
    if (!b || !b->override_id) {
        o.fail(404, "body", "build", "No buildroot override for " + std::string(nvr));
        return o;
    }
    auto& ov = overrides_[b->override_id - 1];
    if (ov.submitter != user && !is_packager(user)) {
        o.fail(403, "body", "build", "Cannot expire another user's buildroot override");
        return o;
    }
    if (ov.expired_date) {
        o.fail(400, "body", "build", "Buildroot override for " + std::string(nvr) + " is already expired");
        return o;
    }
    ov.expired_date = now_;
    o.ids.push_back(ov.id);
    o.message = "Buildroot override for " + std::string(nvr) + " successful untagged";
    return o;
}

bodhi_outcome bodhi_state::save_release(const bodhi_release& r, std::string_view edited, std::string_view user)
{
    bodhi_outcome o;
    if (!is_admin(user)) {
        o.fail(403, "body", "user", std::string(user.empty() ? "anonymous" : user) + " is not an administrator");
        return o;
    }
    if (!edited.empty()) {
        const auto* found = find_release(edited);
        if (!found) {
            o.fail(404, "body", "edited", "No such release: " + std::string(edited));
            return o;
        }
        auto& target = releases_[found->id - 1];
        auto set = [](std::string& dst, const std::string& src) {
            if (!src.empty())
                dst = src;
        };
        set(target.long_name, r.long_name);
        set(target.version, r.version);
        set(target.id_prefix, r.id_prefix);
        set(target.branch, r.branch);
        set(target.stable_tag, r.stable_tag);
        set(target.testing_tag, r.testing_tag);
        set(target.candidate_tag, r.candidate_tag);
        set(target.pending_testing_tag, r.pending_testing_tag);
        set(target.pending_stable_tag, r.pending_stable_tag);
        set(target.override_tag, r.override_tag);
        target.state = r.state;
        o.ids.push_back(target.id);
        return o;
    }
    if (r.name.empty() || r.long_name.empty() || r.dist_tag.empty() || r.version.empty()) {
        o.fail(400, "body", "name", "name, long_name, version and dist_tag are required");
        return o;
    }
    for (const auto& existing : releases_)
        if (bodhi_web::iequals(existing.name, r.name) || bodhi_web::iequals(existing.long_name, r.long_name))
            o.fail(400, "body", "name", "Release " + r.name + " already exists");
    if (!o.ok())
        return o;
    bool epel = r.id_prefix.find("EPEL") != std::string::npos;
    std::string suffix = r.nvr_suffix.empty() ? (epel ? "el" : "fc") + r.version : r.nvr_suffix;
    auto& added = add_release(r.name, r.bodhi1_name.empty() ? r.name : r.bodhi1_name, r.long_name, r.version,
                              r.id_prefix.empty() ? "FEDORA" : r.id_prefix, r.dist_tag, suffix, epel, r.state);
    if (!r.branch.empty())
        added.branch = r.branch;
    auto set = [](std::string& dst, const std::string& src) {
        if (!src.empty())
            dst = src;
    };
    set(added.stable_tag, r.stable_tag);
    set(added.testing_tag, r.testing_tag);
    set(added.candidate_tag, r.candidate_tag);
    set(added.pending_testing_tag, r.pending_testing_tag);
    set(added.pending_stable_tag, r.pending_stable_tag);
    set(added.override_tag, r.override_tag);
    o.ids.push_back(added.id);
    return o;
}

std::size_t bodhi_state::push_requests()
{
    std::size_t n = 0;
    for (auto& u : updates_) {
        if (u.deleted || u.request == update_request::none)
            continue;
        switch (u.request) {
        case update_request::testing:
            u.status = update_status::testing;
            u.date_testing = now_;
            u.date_pushed = now_;
            u.pushed = true;
            add_system_comment(u, "This update has been pushed to testing.");
            break;
        case update_request::stable:
            u.status = update_status::stable;
            u.date_stable = now_;
            u.date_pushed = now_;
            u.date_approved = now_;
            u.pushed = true;
            add_system_comment(u, "This update has been pushed to stable.");
            break;
        case update_request::obsolete:
            u.status = update_status::obsolete;
            add_system_comment(u, "This update has been obsoleted.");
            break;
        default: break;
        }
        u.request = update_request::none;
        u.locked = false;
        ++n;
    }
    return n;
}

void bodhi_state::set_locked(std::uint32_t update_id, bool locked)
{
    if (auto* u = mutable_update(update_id))
        u->locked = locked;
}

// ---------------------------------------------------------------------------------------------
// bodhi_data
bodhi_data::bodhi_data(bodhi_data_params params) : state_(params) {}

std::optional<bodhi_user> bodhi_data::authenticate(std::string_view name, std::string_view password) const
{
    std::shared_lock lock(mutex_);
    const auto* u = state_.find_user(name);
    if (!u || u->password.empty() || password.empty() || !bodhi_web::constant_time_equal(u->password, password))
        return std::nullopt;
    return *u;
}

std::optional<bodhi_user> bodhi_data::user(std::string_view name) const
{
    std::shared_lock lock(mutex_);
    const auto* u = state_.find_user(name);
    return u ? std::optional<bodhi_user>(*u) : std::nullopt;
}

std::string bodhi_data::openid_secret() const
{
    std::shared_lock lock(mutex_);
    return state_.openid_secret();
}

bodhi_time bodhi_data::now() const
{
    std::shared_lock lock(mutex_);
    return state_.now();
}

void bodhi_data::advance_clock(bodhi_time seconds)
{
    std::unique_lock lock(mutex_);
    state_.advance_clock(seconds);
}

std::size_t bodhi_data::push_requests()
{
    std::unique_lock lock(mutex_);
    return state_.push_requests();
}

std::string bodhi_data::next_token()
{
    std::unique_lock lock(mutex_);
    return state_.next_token();
}

} // namespace fedora::emulator
