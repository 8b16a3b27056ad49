// fedora::emulator Bodhi personalities: the in-memory update database (`bodhi_data`), the
// Bodhi 1 (TurboGears) and Bodhi 2 (Pyramid/Cornice) applications, and the minimal OpenID
// provider that the Bodhi 2 login talks to. All of them are plain request -> response code
// mounted in `fedora::emulator::server`; tests may also call handle() directly.
//
// Typical wiring (one server, three mounts):
//
//     auto data = std::make_shared<bodhi_data>(bodhi_data_params{.bulk_updates = 1001});
//     srv.mount("/updates", std::make_shared<bodhi1_application>(data));   // Bodhi 1
//     srv.mount("/bodhi", std::make_shared<bodhi2_application>(data));     // Bodhi 2
//     srv.mount("/id", std::make_shared<openid_provider_application>(data));
//
// The Bodhi 2 app sends its login to `bodhi2_params::openid_endpoint`, by default
// "/id/openid/" on the request's own origin, i.e. the provider mounted at "/id".
//
// Fixed users (shared by Bodhi 1, Bodhi 2 and the provider; every password is
// "<name>-pass"):
//
//   name   password     groups                        notes
//   alice  alice-pass   packager                      committer of foo, bar, python-fedora, bulk-pkg
//   bob    bob-pass     packager                      committer of bar, python-fedora, glibc, systemd, firefox
//   carol  carol-pass   packager, proventesters       committer of kernel, systemd (critpath packages)
//   dave   dave-pass    (none)                        may comment, may not submit or push
//   admin  admin-pass   packager, releng, bodhiadmin  admin: may edit and push anything
//   bodhi  (none)       (none)                        system user for automatic comments; cannot log in
//
// plus `extra_users` generated testers "tester01".. ("tester01-pass"; odd numbers are
// packagers, multiples of three proventesters). Generated packages get committers among
// alice, bob, carol and the packager testers. Releases: F21, F22 (current), F23 (pending), EPEL-7, EPEL-6 (current; Bodhi 1
// calls them EL-7, EL-6). NVR suffixes .fc21/.fc22/.fc23/.el7/.el6 pick the release. Any
// well-formed NVR with such a suffix is accepted as an existing Koji build.
//
// Thread safety: `bodhi_data` is safe to use from any thread (a shared_mutex guards the
// state; read() and write() hand the state to a callback under the lock). The
// applications are safe to call concurrently. `bodhi_state` on its own is not
// synchronised: use it through bodhi_data.
#pragma once

#include <fedora/emulator/server.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fedora::emulator {

// ---------------------------------------------------------------------------------------------
// Time: seconds since the Unix epoch, UTC. The emulator's clock is frozen except when a test
// advances it, so answers are reproducible.
using bodhi_time = std::int64_t;

// "YYYY-MM-DD HH:MM:SS", as both Bodhi versions render dates.
std::string format_bodhi_time(bodhi_time t);
// Accepts "YYYY-MM-DD HH:MM:SS[.ffffff]", "YYYY-MM-DDTHH:MM:SS[Z]" and "YYYY-MM-DD".
std::optional<bodhi_time> parse_bodhi_time(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Enumerations (Bodhi 2 values; Bodhi 1 shows a subset, see bodhi1_application).
enum class update_status : std::uint8_t { pending, testing, stable, unpushed, obsolete, processing };
enum class update_request : std::uint8_t { none, testing, stable, obsolete, unpush, revoke };
enum class update_type : std::uint8_t { bugfix, security, newpackage, enhancement };
enum class update_severity : std::uint8_t { unspecified, urgent, high, medium, low };
enum class update_suggest : std::uint8_t { unspecified, reboot, logout };
enum class release_state : std::uint8_t { disabled, pending, current, archived };

std::string_view to_string(update_status v) noexcept;
std::string_view to_string(update_request v) noexcept; // none -> "none"
std::string_view to_string(update_type v) noexcept;
std::string_view to_string(update_severity v) noexcept;
std::string_view to_string(update_suggest v) noexcept;
std::string_view to_string(release_state v) noexcept;
std::optional<update_status> parse_update_status(std::string_view s) noexcept;
std::optional<update_request> parse_update_request(std::string_view s) noexcept; // not "none"
std::optional<update_type> parse_update_type(std::string_view s) noexcept;
std::optional<update_severity> parse_update_severity(std::string_view s) noexcept;
std::optional<update_suggest> parse_update_suggest(std::string_view s) noexcept;
std::optional<release_state> parse_release_state(std::string_view s) noexcept;

// ---------------------------------------------------------------------------------------------
// Records. Ids are 1-based indexes into the tables of bodhi_state; 0 means "none".
struct bodhi_user
{
    std::uint32_t id = 0;
    std::string name;
    std::string password;        // "" = cannot log in
    std::string email;
    std::string human_name;
    std::vector<std::string> groups;
};

struct bodhi_release
{
    std::uint32_t id = 0;
    std::string name;            // "F22", "EPEL-7"
    std::string bodhi1_name;     // "F22", "EL-7"
    std::string long_name;       // "Fedora 22"
    std::string version;         // "22"
    std::string id_prefix;       // "FEDORA", "FEDORA-EPEL"
    std::string branch;          // "f22"
    std::string dist_tag;        // "f22"
    std::string nvr_suffix;      // "fc22": the release part of an NVR ends in it
    std::string stable_tag, testing_tag, candidate_tag;
    std::string pending_testing_tag, pending_stable_tag, override_tag;
    release_state state = release_state::current;
    bool locked = false;
    unsigned mandatory_days_in_testing = 7;
};

struct bodhi_package
{
    std::uint32_t id = 0;
    std::string name;
    std::string requirements;
    std::vector<std::string> committers;
    bool critpath = false;
    bool suggest_reboot = false;
};

struct bodhi_build
{
    std::uint32_t id = 0;
    std::string nvr;
    std::uint32_t package_id = 0;
    std::uint32_t release_id = 0;
    std::uint32_t update_id = 0;   // the update it belongs to, 0 = a plain candidate build
    std::uint32_t override_id = 0; // the latest buildroot override of this build
};

struct bodhi_bug
{
    std::uint32_t bug_id = 0;
    std::string title;
    bool security = false;
    bool parent = false;
};

struct bodhi_comment
{
    std::uint32_t id = 0;
    std::uint32_t update_id = 0;
    std::string author;           // user name, or the e-mail address of an anonymous author
    bool anonymous = false;
    int karma = 0;                // as stored: the submitter's own vote is stored as 0
    int karma_critpath = 0;
    std::string text;
    bodhi_time timestamp = 0;
    std::vector<std::pair<std::uint32_t, int>> bug_feedback;       // bug id, karma
    std::vector<std::pair<std::string, int>> testcase_feedback;    // test case, karma
};

struct bodhi_update
{
    std::uint32_t id = 0;
    std::string alias;            // assigned at creation (Bodhi 2); Bodhi 1 shows it once pushed
    std::vector<std::uint32_t> builds;
    std::uint32_t release_id = 0;
    std::string submitter;
    update_type type = update_type::bugfix;
    update_status status = update_status::pending;
    update_request request = update_request::none;
    update_severity severity = update_severity::unspecified;
    update_suggest suggest = update_suggest::unspecified;
    std::string notes;
    std::vector<std::uint32_t> bugs;  // bug ids
    std::vector<std::string> cves;
    bool autokarma = true;
    int stable_karma = 3;
    int unstable_karma = -3;
    bool close_bugs = true;
    bool require_bugs = true;
    bool require_testcases = true;
    std::string requirements;
    bool locked = false;
    bool pushed = false;
    bool critpath = false;
    bool deleted = false;         // Bodhi 1 delete: kept as a tombstone so ids stay stable
    bodhi_time date_submitted = 0;
    std::optional<bodhi_time> date_modified, date_approved, date_pushed, date_testing, date_stable;
    std::vector<std::uint32_t> comments;
    std::size_t karma_counted_from = 0; // index into comments: votes before it were reset by an edit
    int karma = 0;                // cached, recomputed after every comment
    int karma_critpath = 0;
};

struct bodhi_override
{
    std::uint32_t id = 0;
    std::uint32_t build_id = 0;
    std::string submitter;
    std::string notes;
    bodhi_time submission_date = 0;
    bodhi_time expiration_date = 0;
    std::optional<bodhi_time> expired_date;
};

// ---------------------------------------------------------------------------------------------
// Outcome of a write. On failure `errors` is non-empty and `status` is the Bodhi 2 HTTP
// status (400 rule failure, 403 permission, 404 unknown object); Bodhi 1 shows the
// descriptions as tg_flash instead. `message` is the human summary Bodhi 1 flashes.
struct bodhi_error_entry
{
    std::string location; // "body", "querystring", "url", "header", "cookies"
    std::string name;
    std::string description;
};

struct bodhi_caveat
{
    std::string name;
    std::string description;
};

struct bodhi_outcome
{
    unsigned status = 200;
    std::vector<bodhi_error_entry> errors;
    std::vector<bodhi_caveat> caveats;
    std::string message;
    std::vector<std::uint32_t> ids; // updates, comments or overrides created or changed

    bool ok() const noexcept { return errors.empty(); }
    void fail(unsigned http_status, std::string location, std::string name, std::string description);
};

// ---------------------------------------------------------------------------------------------
// Inputs of the logical operations. The applications fill them from their own wire
// formats and validate spelling (enum names, integers) with their own messages first.
struct update_filter
{
    std::vector<std::string> aliases;
    std::vector<std::string> titles;        // either join style: "a-1-1.fc22,b-1-1.fc22" or with spaces
    std::vector<std::uint32_t> bugs;
    std::vector<std::string> builds;
    std::vector<std::string> cves;
    std::vector<std::string> packages;
    std::vector<std::uint32_t> releases;    // release ids
    std::vector<update_status> statuses;    // any of
    std::vector<update_request> requests;   // any of (none allowed)
    std::optional<update_type> type;
    std::optional<update_severity> severity;
    std::optional<update_suggest> suggest;
    std::optional<bool> critpath, locked, pushed;
    std::optional<bool> critpath_approved;
    std::string like;                       // substring of the title
    std::string user;                       // submitter
    std::optional<bodhi_time> submitted_since, submitted_before;
    std::optional<bodhi_time> modified_since, modified_before;
    std::optional<bodhi_time> pushed_since, pushed_before;
    std::optional<bodhi_time> approved_since, approved_before;
    bool order_by_date_pushed = false;      // Bodhi 1 with status=stable
};

struct update_save_params
{
    std::vector<std::string> builds;
    update_type type = update_type::bugfix;
    std::vector<std::uint32_t> bugs;
    std::string notes;
    update_request request = update_request::testing; // testing, stable or none
    update_severity severity = update_severity::unspecified;
    update_suggest suggest = update_suggest::unspecified;
    bool autokarma = true;
    int stable_karma = 3;
    int unstable_karma = -3;
    bool close_bugs = true;
    bool require_bugs = true;
    bool require_testcases = true;
    std::string requirements;
    std::string edited;                     // title (either join) or alias of the update to edit
};

struct comment_params
{
    std::uint32_t update_id = 0;
    std::string author;                     // user name, or e-mail address when anonymous
    bool anonymous = false;
    std::string text;
    int karma = 0;
    int karma_critpath = 0;
    std::vector<std::pair<std::uint32_t, int>> bug_feedback;
    std::vector<std::pair<std::string, int>> testcase_feedback;
};

struct override_save_params
{
    std::vector<std::string> nvrs;
    std::string notes;
    bodhi_time expiration_date = 0;
    std::string edited;                     // NVR of the override to edit
    bool expired = false;                   // with `edited`: expire it
};

struct override_filter
{
    std::string user;
    std::vector<std::string> packages;
    std::vector<std::uint32_t> releases;
    std::vector<std::string> builds;
    std::optional<bool> expired;
    std::string like;
};

struct comment_filter
{
    std::vector<std::uint32_t> updates;
    std::vector<std::string> packages;
    std::string user;
    std::string update_owner;
    std::optional<bool> anonymous;
    std::optional<bodhi_time> since;
    std::string like;
};

// Documented server quirks (spec §7), on by default as the real servers behaved.
struct bodhi_quirks
{
    // Bodhi 2: expiring an already-expired override with a future date re-enables it.
    bool reenable_expired_override = true;
    // Bodhi 2: POST /updates/{package name}/request answers 302 to a package query.
    bool request_on_package_name_redirects = true;
};

struct bodhi_data_params
{
    std::uint64_t seed = 2015;
    std::size_t updates = 240;             // generated updates over every release/status/type
    std::size_t bulk_updates = 0;          // extra F22 testing updates of `bulk_package` (pagination tests)
    std::string bulk_package = "bulk-pkg";
    std::size_t extra_users = 12;          // tester01..testerNN
    bodhi_time start_time = 0;             // clock at construction; 0 = now, whole minute (UTC)
    int critpath_min_karma = 2;            // critpath karma that approves a critpath update
    unsigned critpath_days_without_negative_karma = 14;
    unsigned override_max_days = 31;       // buildroot_limit
    bodhi_quirks quirks;
};

// The tables and the rules. Not synchronised: reach it through bodhi_data::read/write.
class bodhi_state
{
public:
    explicit bodhi_state(const bodhi_data_params& params);

    const bodhi_data_params& params() const noexcept { return params_; }
    bodhi_time now() const noexcept { return now_; }
    // Moves the clock forward; overrides whose expiration passed become expired.
    void advance_clock(bodhi_time seconds);

    const std::vector<bodhi_user>& users() const noexcept { return users_; }
    const std::vector<bodhi_release>& releases() const noexcept { return releases_; }
    const std::vector<bodhi_package>& packages() const noexcept { return packages_; }
    const std::vector<bodhi_build>& builds() const noexcept { return builds_; }
    const std::vector<bodhi_update>& updates() const noexcept { return updates_; }
    const std::vector<bodhi_comment>& comments() const noexcept { return comments_; }
    const std::vector<bodhi_override>& overrides() const noexcept { return overrides_; }

    const bodhi_user* find_user(std::string_view name) const;
    const bodhi_user* find_user(std::uint32_t id) const;
    // Matches name, Bodhi 1 name, long name or dist tag, case-insensitively.
    const bodhi_release* find_release(std::string_view key) const;
    const bodhi_release* release(std::uint32_t id) const;
    const bodhi_package* find_package(std::string_view name) const;
    const bodhi_package* package(std::uint32_t id) const;
    const bodhi_build* find_build(std::string_view nvr) const;
    const bodhi_build* build(std::uint32_t id) const;
    // Alias or title in either join style; deleted updates are not found.
    const bodhi_update* find_update(std::string_view key) const;
    const bodhi_update* update(std::uint32_t id) const;
    const bodhi_comment* comment(std::uint32_t id) const;
    const bodhi_override* override_record(std::uint32_t id) const;
    const bodhi_bug* bug(std::uint32_t bug_id) const;
    // The release an NVR belongs to (by its suffix), or nullptr; also nullptr if malformed.
    const bodhi_release* release_of_nvr(std::string_view nvr) const;

    // Titles: Bodhi 1 joins NVRs with commas, Bodhi 2 with spaces.
    std::string title(const bodhi_update& u, char separator) const;
    std::string package_name_of_update(const bodhi_update& u) const;
    bool critpath_approved(const bodhi_update& u) const;
    bool meets_testing_requirements(const bodhi_update& u) const;
    unsigned days_in_testing(const bodhi_update& u) const;
    // Koji tags a build is in right now, derived from its update and override.
    std::vector<std::string> tags_of(const bodhi_build& b) const;

    bool is_admin(std::string_view user) const;
    bool is_packager(std::string_view user) const;
    // Submitter, a committer of one of its packages, or an admin.
    bool can_edit(const bodhi_update& u, std::string_view user) const;

    // Update ids matching the filter, newest date_submitted first (date_pushed first when
    // asked), id descending on ties. Deleted updates never match.
    std::vector<std::uint32_t> query_updates(const update_filter& f) const;
    std::vector<std::uint32_t> query_overrides(const override_filter& f) const;
    std::vector<std::uint32_t> query_comments(const comment_filter& f) const;
    // (tag, nvr) pairs: the newest build of the package in every tag of every release.
    std::vector<std::pair<std::string, std::string>> latest_builds(std::string_view package) const;

    // Creates one update per release spanned by the builds, or edits `edited`.
    // Rules: packager group; committer of existing packages unless admin; each build in at
    // most one live update; request stable on an untested update becomes testing.
    bodhi_outcome save_update(const update_save_params& p, std::string_view user);
    // The request rules of spec §4: permission (can_edit, else 403), locked updates, valid
    // transitions (unpush only from testing, revoke needs a request, none on stable updates),
    // and the testing requirements before stable: karma >= stable_karma or
    // the release's mandatory days in testing (7 Fedora, 14 EPEL); critpath updates need
    // critpath karma >= critpath_min_karma or 14 days without negative karma. A pending
    // update asked for stable without them goes to testing (with a caveat). none is refused.
    bodhi_outcome set_request(std::uint32_t update_id, update_request r, std::string_view user);
    // Karma rules: one vote per author (the latest non-zero one counts, since the last
    // build edit); the submitter's vote is stored as 0 with a caveat; anonymous votes are
    // kept but never counted; critpath karma counted the same way, separately. Autokarma
    // requests stable at stable_karma and unpushes at unstable_karma.
    bodhi_outcome add_comment(const comment_params& p);
    // Bodhi 1 delete: submitter or admin, never pushed.
    bodhi_outcome delete_update(std::uint32_t update_id, std::string_view user);
    bodhi_outcome save_override(const override_save_params& p, std::string_view user);
    bodhi_outcome expire_override(std::string_view nvr, std::string_view user);
    // Admin create/edit of a release (Bodhi 2 POST /releases/). `edited` = existing name.
    bodhi_outcome save_release(const bodhi_release& r, std::string_view edited, std::string_view user);

    // The masher: carries out pending requests (testing/stable/obsolete). Returns how many.
    std::size_t push_requests();
    // Test hook: lock or unlock an update (Bodhi locks updates while pushing them).
    void set_locked(std::uint32_t update_id, bool locked);

    // Secret shared by the OpenID provider and the Bodhi 2 app to sign assertions.
    const std::string& openid_secret() const noexcept { return openid_secret_; }
    // Deterministic, unique hex string (session ids, tokens, nonces): no two calls repeat.
    std::string next_token();

private:
    struct generator;
    friend struct generator;

    bodhi_user& add_user(std::string name, std::vector<std::string> groups);
    bodhi_release& add_release(std::string name, std::string bodhi1_name, std::string long_name,
                               std::string version, std::string id_prefix, std::string dist_tag,
                               std::string nvr_suffix, bool epel, release_state state);
    bodhi_package& ensure_package(std::string_view name);
    bodhi_build* ensure_build(std::string_view nvr); // nullptr if malformed or unknown release
    bodhi_update* mutable_update(std::uint32_t id);
    std::uint32_t add_system_comment(bodhi_update& u, std::string text);
    void recompute_karma(bodhi_update& u);
    void check_karma_thresholds(bodhi_update& u);
    void index_update(const bodhi_update& u);
    void unindex_update(const bodhi_update& u);
    std::string make_alias(const bodhi_release& r, std::uint32_t update_id, bodhi_time t) const;
    void ensure_bug(std::uint32_t bug_id, bool security);

    bodhi_data_params params_;
    bodhi_time now_ = 0;
    std::uint64_t token_counter_ = 0;
    std::string openid_secret_;
    std::vector<bodhi_user> users_;
    std::vector<bodhi_release> releases_;
    std::vector<bodhi_package> packages_;
    std::vector<bodhi_build> builds_;
    std::vector<bodhi_update> updates_;
    std::vector<bodhi_comment> comments_;
    std::vector<bodhi_override> overrides_;
    std::map<std::uint32_t, bodhi_bug> bugs_;
    std::map<std::string, std::uint32_t, std::less<>> user_index_, package_index_, build_index_;
    std::map<std::string, std::uint32_t, std::less<>> alias_index_, title_index_;
};

// The shared, thread-safe store. One instance may back any number of applications.
class bodhi_data
{
public:
    explicit bodhi_data(bodhi_data_params params = {});

    // Runs f(const bodhi_state&) under a shared lock and returns its result. Return values,
    // not pointers or references into the state: they dangle once a writer runs. f must not
    // call back into this bodhi_data (the lock is not recursive).
    template <class F>
    decltype(auto) read(F&& f) const
    {
        std::shared_lock lock(mutex_);
        return std::forward<F>(f)(static_cast<const bodhi_state&>(state_));
    }
    // Runs f(bodhi_state&) under an exclusive lock and returns its result.
    template <class F>
    decltype(auto) write(F&& f)
    {
        std::unique_lock lock(mutex_);
        return std::forward<F>(f)(state_);
    }

    // The user if name/password match and the user may log in (passwords compare in
    // constant time).
    std::optional<bodhi_user> authenticate(std::string_view name, std::string_view password) const;
    std::optional<bodhi_user> user(std::string_view name) const;
    std::string openid_secret() const;
    bodhi_time now() const;
    void advance_clock(bodhi_time seconds);
    std::size_t push_requests();
    std::string next_token();

private:
    mutable std::shared_mutex mutex_;
    bodhi_state state_;
};

// ---------------------------------------------------------------------------------------------
// Bodhi 1 (TurboGears 1). Mount under "/updates". Every route accepts GET and POST with
// form or query parameters; JSON is answered when Accept has application/json or
// text/javascript, or tg_format=json is given; otherwise a small HTML page. Application
// errors are HTTP 200 with the message in `tg_flash`; identity failures are 403 with the
// TurboGears login dict; `list` with `mine` while anonymous is 401.
//
// Identity, as TurboGears decided it: `login=Login` with `user_name`/`password` (or HTTP
// Basic) logs the visit in; otherwise the `tg-visit` cookie counts only together with
// `_csrf_token` = sha1hex(tg-visit). Every response sets `tg-visit`.
//
// Routes: list, save, request, comment, delete, candidate_tags, latest_builds, releases[/],
// dist_tags, critpath, get_updates_from_builds, mine, user/<name>, login, logout,
// override/list, override/save, override/save_edit_cli, override/expire. Anything else with
// one path segment (including `api_version`) is the catch-all HTML page of Bodhi 1's
// Root.default; deeper unknown paths are 404 HTML.
//
// Status mapping: Bodhi 1 had no `unpushed` or `processing`; they show as `pending` and
// `testing`. Requests `unpush`/`revoke` act at once, so `request` is testing/stable/obsolete/null.
struct bodhi1_params
{
    std::string json_content_type = "text/javascript; charset=utf-8"; // TurboJson's
    std::size_t default_page_size = 25;      // updates_tgp_limit when absent
    std::size_t override_page_size = 20;     // overrides_tgp_limit when absent
    std::size_t max_visits = 50000;          // anonymous visits beyond this are forgotten
};

class bodhi1_application final : public application
{
public:
    explicit bodhi1_application(std::shared_ptr<bodhi_data> data, bodhi1_params params = {});
    ~bodhi1_application() override;

    http_response handle(const http_request& request, const request_context& context) override;

    // Forgets every visit (as if they had all timed out): clients must log in again.
    void expire_visits();
    std::size_t visit_count() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Bodhi 2 (2.0.1 baseline plus `*_before` filters and `autokarma`). Mount at "/" of its own
// origin or under any prefix. JSON unless Accept asks for text/html only (then a small HTML
// page) or application/javascript (JSONP with `callback`). Errors are Cornice bodies
// {"status":"error","errors":[{"location","name","description"}]}.
//
// Routes: GET api_version, csrf, login, dologin.html (also POST), logout;
// updates/ (GET query, POST save), updates/{id} (GET), updates/{id}/request (POST);
// comments/ (GET, POST), comments/{id}; overrides/ (GET, POST), overrides/{nvr};
// releases/ (GET, POST admin), releases/{name}; builds/, builds/{nvr}; packages/;
// users/, users/{name}; latest_builds (GET or POST); latest_candidates.
// Collections without their trailing slash answer 302 to the slash form.
//
// Sessions: GET csrf creates a `session` cookie holding a CSRF token; every write needs
// `csrf_token` equal to it (400 body/csrf_token otherwise). Login: GET login -> 302
// dologin.html?openid=<endpoint> -> 302 <endpoint>?openid.mode=checkid_setup&... ; the
// provider's signed answer POSTed (or GET) to dologin.html?janrain_nonce=... sets
// `auth_tkt` and 302s to came_from. Writes without auth_tkt: see anonymous_write_answer.
enum class anonymous_write_answer : std::uint8_t {
    forbidden_json,  // 403 Cornice body (the later Bodhi fix, bodhi #3833)
    login_redirect,  // 302 to login, as Bodhi 2.0's forbidden view did (ends at provider HTML)
};

struct bodhi2_params
{
    std::string version = "2.0";             // GET api_version
    // The OpenID endpoint; a value starting with '/' is resolved against the request origin.
    std::string openid_endpoint = "/id/openid/";
    anonymous_write_answer anonymous_writes = anonymous_write_answer::forbidden_json;
    std::size_t max_sessions = 50000;        // `session` cookies beyond this are forgotten
};

class bodhi2_application final : public application
{
public:
    explicit bodhi2_application(std::shared_ptr<bodhi_data> data, bodhi2_params params = {});
    ~bodhi2_application() override;

    http_response handle(const http_request& request, const request_context& context) override;

    // Gives every session a new CSRF token: cached tokens stop matching (as when Pyramid's
    // session times out), so "refetch csrf once on mismatch" can be tested.
    void rotate_csrf_tokens();
    // Forgets every session and auth ticket: clients must fetch csrf and log in again.
    void expire_sessions();
    void set_openid_endpoint(std::string endpoint);
    std::size_t session_count() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// The OpenID provider (FedOAuth/Ipsilon) as python-fedora's openid_login drives it.
// Mount under "/id" (the default Bodhi 2 endpoint) or anywhere with set_openid_endpoint.
//
//   GET  openid/?openid.mode=checkid_setup&...  302 to login?transaction=N (HTML login page)
//   POST openid/ (browser form: openid.* + username + password) 302 to return_to with the
//        signed assertion in the query
//   POST api/v1/  form: openid.* (openid.return_to required) + username + password
//        -> {"success": true, "response": {openid.mode=id_res, op_endpoint, return_to,
//            claimed_id, identity, response_nonce, assoc_handle, signed, sig, sreg.*, lp.*}}
//        -> {"success": false, "message": "Authentication failed"} (HTTP 200) for bad
//           credentials; 400 with the same shape for a malformed request.
//
// Assertions are signed with HMAC-SHA256 over the OpenID key-value form of the signed
// fields, with the secret the Bodhi 2 app shares through bodhi_data.
class openid_provider_application final : public application
{
public:
    explicit openid_provider_application(std::shared_ptr<bodhi_data> users);
    ~openid_provider_application() override;

    http_response handle(const http_request& request, const request_context& context) override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace fedora::emulator
