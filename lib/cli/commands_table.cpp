// The `fedora` command table: every FAS and Bodhi operation of the SDK, its arguments and
// its help text. Pure data; the code that runs each command is in fas_commands.cpp and
// bodhi_commands.cpp, keyed by the same names.
#include "args.hpp"

namespace fedora::cli {

namespace {

using A = auth_need;

option_spec page_opt{"page", "N", "page number, from 1 (default 1)"};
option_spec rows_opt{"rows", "N", "rows per page, 1..100 (default 20)"};

std::vector<command_spec> make_commands()
{
    std::vector<command_spec> c;
    // ---- top level ----------------------------------------------------------------------
    c.push_back({"", "demo", {},
                 {{"people", "N", "generated FAS accounts in the emulator (default 50000)"}},
                 "start the embedded emulator and show what the SDK does, with timings",
                 "Starts the FAS2, Bodhi 1, Bodhi 2 and OpenID emulator in-process (HTTPS, its own CA,\n"
                 "trusted by this process only), logs several users in through ONE client, runs their\n"
                 "lookups concurrently, shows each user's private view stays their own, queries groups,\n"
                 "reads the user_data dump, detects both Bodhi versions and runs a query and a comment\n"
                 "on each. Ignores --url and credentials. Exit 0 when every check held, 1 otherwise.",
                 A::none});

    // ---- FAS: FasProxyClient ------------------------------------------------------------
    c.push_back({"fas", "login", {}, {},
                 "log in; print the user, their groups and the new session id",
                 "proxy_client::async_login: POST login. Credentials from FEDORA_USERNAME (or --user)\n"
                 "and FEDORA_PASSWORD, or a prompt. Export the printed session_id as\n"
                 "FEDORA_SESSION_ID to reuse the session; it is a secret.",
                 A::required});
    c.push_back({"fas", "logout", {}, {}, "end the session FEDORA_SESSION_ID",
                 "proxy_client::async_logout: POST logout.", A::required});
    c.push_back({"fas", "refresh-session", {}, {}, "extend the session FEDORA_SESSION_ID",
                 "proxy_client::async_refresh_session: POST to the base URL.", A::required});
    c.push_back({"fas", "verify-session", {}, {},
                 "check FEDORA_SESSION_ID: prints true (exit 0) or false (exit 3)",
                 "proxy_client::async_verify_session: POST home.", A::required});
    c.push_back({"fas", "verify-password", {}, {},
                 "check the credentials: prints true (exit 0) or false (exit 3)",
                 "proxy_client::async_verify_password: POST home with the credentials only; no\n"
                 "session is kept.",
                 A::required});
    c.push_back({"fas", "user-info", {}, {}, "your own record",
                 "proxy_client::async_get_user_info: POST user/view.", A::required});
    c.push_back({"fas", "group-list", {}, {}, "the groups you may see",
                 "proxy_client::async_group_list: POST group/list.", A::required,
                 {"id", "name", "display_name", "group_type", "members"}});
    c.push_back({"fas", "send-request", {"METHOD"},
                 {{"param", "KEY=VALUE", "a form field (repeatable)", true},
                  {"safe", "", "the request is a read: the retry policy may repeat it"}},
                 "any FAS endpoint; prints its JSON answer",
                 "proxy_client::async_send_request: POST METHOD (a path relative to the base URL).",
                 A::optional});

    // ---- FAS: AccountSystem -------------------------------------------------------------
    c.push_back({"fas", "person", {"USERNAME"}, {}, "a person by user name (exit 4 if none)",
                 "account_system::async_person_by_username: POST json/person_by_username.", A::required});
    c.push_back({"fas", "person-by-id", {"ID"}, {}, "a person by id (exit 4 if none)",
                 "account_system::async_person_by_id: POST json/person_by_id.", A::required});
    c.push_back({"fas", "group", {"NAME"}, {}, "a group by name, with its roles (exit 4 if none)",
                 "account_system::async_group_by_name: POST json/group_by_name.", A::required});
    c.push_back({"fas", "group-by-id", {"ID"}, {}, "a group by id (exit 4 if none)",
                 "account_system::async_group_by_id: POST json/group_by_id.", A::required});
    c.push_back({"fas", "group-members", {"NAME"}, {}, "who is in a group and as what",
                 "account_system::async_group_members: POST group/dump/NAME.", A::required,
                 {"username", "role_type"}});
    c.push_back({"fas", "people-by-key", {},
                 {{"key", "KEY", "id, username or email (default username)"},
                  {"search", "PATTERN", "'*' is a wildcard (default '*')"},
                  {"fields", "F,F", "fields to fetch (repeatable; default: all)", true}},
                 "people whose KEY matches PATTERN",
                 "account_system::async_people_by_key: POST user/list. Keyed by KEY.", A::required,
                 {"key", "id", "username", "human_name", "email"}});
    c.push_back({"fas", "people-by-id", {}, {}, "everyone, by id (few fields)",
                 "account_system::async_people_by_id: POST json/user_id and group/dump.", A::required,
                 {"id", "username", "human_name", "email"}});
    c.push_back({"fas", "people-by-groupname", {"GROUP"}, {}, "the members of a group (few fields)",
                 "account_system::async_people_by_groupname: POST json/group_by_name, json/user_id,\n"
                 "group/dump.",
                 A::required, {"id", "username", "human_name", "email"}});
    c.push_back({"fas", "people-query", {},
                 {{"constraint", "COLUMN=PATTERN", "a LIKE constraint (repeatable)", true},
                  {"columns", "C,C", "columns to return (repeatable)", true}},
                 "people matching column constraints",
                 "account_system::async_people_query: POST json/people_query.", A::required});
    c.push_back({"fas", "user-id", {}, {}, "id -> user name of every account",
                 "account_system::async_user_id: POST json/user_id.", A::required, {"id", "username"}});
    c.push_back({"fas", "user-data", {}, {}, "the user_data dump of every active account (large)",
                 "account_system::async_user_data: POST json/fas_client/user_data. Shows a progress\n"
                 "line on stderr while it waits, when stderr is a terminal (not with --quiet).",
                 A::required, {"id", "username", "human_name", "email", "alias_enabled"}});
    c.push_back({"fas", "group-data", {}, {{"force-refresh", "", "ask FAS to rebuild its cache"}},
                 "every group's approved members by role",
                 "account_system::async_group_data: POST json/fas_client/group_data.", A::required,
                 {"name", "id", "type", "administrators", "sponsors", "users"}});
    c.push_back({"fas", "get-config", {"USERNAME", "APPLICATION", "ATTRIBUTE"}, {},
                 "one configuration value (exit 4 if unset)",
                 "account_system::async_get_config: POST config/list/USERNAME/APPLICATION/ATTRIBUTE.",
                 A::required});
    c.push_back({"fas", "get-configs-like", {"USERNAME", "APPLICATION", "[PATTERN]"}, {},
                 "configuration values whose attribute matches PATTERN (default '*')",
                 "account_system::async_get_configs_like: POST config/list/USERNAME/APPLICATION/PATTERN.",
                 A::required, {"attribute", "value"}});
    c.push_back({"fas", "set-config", {"USERNAME", "APPLICATION", "ATTRIBUTE", "VALUE"}, {},
                 "set one configuration value",
                 "account_system::async_set_config: POST config/set/USERNAME/APPLICATION/ATTRIBUTE.",
                 A::required});
    c.push_back({"fas", "create-group", {"NAME"},
                 {{"display-name", "TEXT", "(default NAME)"},
                  {"owner", "USERNAME", "(default: you)"},
                  {"group-type", "TYPE", "(default tracking)"},
                  {"invite-only", "", "only invited people may join"},
                  {"needs-sponsor", "", "members need a sponsor"},
                  {"no-user-can-remove", "", "members may not leave on their own"},
                  {"prerequisite", "GROUP", "a group one must be in first"},
                  {"joinmsg", "TEXT", "message shown on joining"}},
                 "create a group (administrators)",
                 "account_system::async_create_group: POST group/create, then group/view/NAME.",
                 A::required});
    c.push_back({"fas", "user-gencert", {}, {},
                 "a new client certificate and its private key (PEM; exit 3 without CLA)",
                 "account_system::async_user_gencert: POST user/dogencert. The key is printed on\n"
                 "stdout: redirect it to a file only you can read.",
                 A::required});
    c.push_back({"fas", "avatar-url", {"USERNAME"},
                 {{"size", "N", "32, 64 or 140 (default 64)"},
                  {"default", "URL", "image when there is none (default: Fedora's logo)"},
                  {"service", "NAME", "libravatar (default) or gravatar"}},
                 "the avatar URL of a user",
                 "account_system::async_avatar_url: no request, or json/person_by_username for\n"
                 "gravatar (the e-mail address).",
                 A::optional});

    // ---- Bodhi ----------------------------------------------------------------------------
    c.push_back({"bodhi", "version", {}, {}, "which Bodhi the server is (1 or 2)",
                 "bodhi::client::async_detect: GET api_version (+ POST releases on Bodhi 1).", A::none});
    c.push_back({"bodhi", "login", {}, {},
                 "log in; print the session as JSON for FEDORA_BODHI_SESSION",
                 "bodhi::client::async_login: Bodhi 1 POST login; Bodhi 2 the OpenID login through\n"
                 "--openid-url. The printed session (cookies, CSRF token) is a secret: export it as\n"
                 "FEDORA_BODHI_SESSION to reuse it.",
                 A::required});
    c.push_back({"bodhi", "logout", {}, {}, "end the session FEDORA_BODHI_SESSION",
                 "bodhi::client::async_logout: Bodhi 1 POST logout, Bodhi 2 GET logout.", A::required});
    c.push_back({"bodhi", "updates", {},
                 {{"package", "NAME", "(repeatable)", true},
                  {"build", "NVR", "(repeatable)", true},
                  {"release", "NAME", "e.g. F22"},
                  {"status", "STATUS", "pending, testing, stable, obsolete, ..."},
                  {"type", "TYPE", "bugfix, security, newpackage, enhancement"},
                  {"request", "REQUEST", "testing, stable, obsolete, ..."},
                  {"bug", "N", "(repeatable)", true},
                  {"submitter", "USERNAME", ""},
                  {"mine", "", "your own updates (needs credentials)"},
                  {"critpath", "", "critical-path updates only (Bodhi 2)"},
                  {"like", "TEXT", "title contains TEXT (Bodhi 2)"},
                  page_opt,
                  rows_opt,
                  {"all", "", "every page (from --page on)"}},
                 "query updates",
                 "bodhi::client::async_query_updates (async_query_all_updates with --all): Bodhi 1\n"
                 "POST list, Bodhi 2 GET updates/.",
                 A::optional, {"key", "status", "request", "type", "karma", "submitter", "release"}});
    c.push_back({"bodhi", "update", {"KEY"}, {}, "one update (Bodhi 1: title or ID; Bodhi 2: alias or title)",
                 "bodhi::client::async_get_update: Bodhi 1 POST list, Bodhi 2 GET updates/KEY.", A::optional});
    c.push_back({"bodhi", "save", {},
                 {{"build", "NVR", "a build of the update (repeatable, at least one)", true},
                  {"type", "TYPE", "bugfix (default), security, newpackage, enhancement"},
                  {"bug", "N", "(repeatable)", true},
                  {"notes", "TEXT", ""},
                  {"request", "REQUEST", "testing (default), stable, or none"},
                  {"severity", "SEVERITY", "Bodhi 2"},
                  {"suggest", "WHAT", "unspecified (default), reboot, logout"},
                  {"stable-karma", "N", "(default 3)"},
                  {"unstable-karma", "N", "(default -3)"},
                  {"no-autokarma", "", "do not push on karma"},
                  {"no-close-bugs", "", "leave the bugs open"},
                  {"edit", "KEY", "edit this update instead of creating one"}},
                 "create or edit an update",
                 "bodhi::client::async_save_update: Bodhi 1 POST save, Bodhi 2 POST updates/.", A::required,
                 {"key", "status", "request", "type", "release"}});
    c.push_back({"bodhi", "request", {"KEY", "ACTION"}, {},
                 "ask for testing, stable, obsolete, unpush or revoke",
                 "bodhi::client::async_request: Bodhi 1 POST request, Bodhi 2 POST updates/KEY/request.",
                 A::required});
    c.push_back({"bodhi", "comment", {"KEY", "TEXT"},
                 {{"karma", "N", "-1, 0 (default) or 1"},
                  {"critpath-karma", "N", "-1, 0 or 1 (Bodhi 2)"},
                  {"anonymous-email", "ADDRESS", "comment anonymously as ADDRESS (Bodhi 2)"}},
                 "comment on an update, with karma",
                 "bodhi::client::async_comment: Bodhi 1 POST comment, Bodhi 2 POST comments/.\n"
                 "Needs credentials unless --anonymous-email.",
                 A::optional});
    c.push_back({"bodhi", "delete", {"KEY"}, {}, "delete an unpushed update (Bodhi 1)",
                 "bodhi::client::async_delete_update: Bodhi 1 POST delete (Bodhi 2: use request unpush).",
                 A::required});
    c.push_back({"bodhi", "releases", {}, {}, "the releases",
                 "bodhi::client::async_releases: Bodhi 1 POST releases, Bodhi 2 GET releases/.", A::none,
                 {"name", "long_name", "state", "id_prefix", "dist_tag"}});
    c.push_back({"bodhi", "latest-builds", {"PACKAGE"}, {}, "the newest build of a package per tag",
                 "bodhi::client::async_latest_builds: Bodhi 1 POST latest_builds, Bodhi 2 GET latest_builds.",
                 A::none, {"tag", "nvr"}});
    c.push_back({"bodhi", "candidate-tags", {}, {}, "Koji candidate tags of the current releases",
                 "bodhi::client::async_candidate_tags: Bodhi 1 POST candidate_tags, Bodhi 2 GET releases/.",
                 A::none});
    c.push_back({"bodhi", "critpath", {},
                 {{"release", "NAME", "e.g. F22 (default: all)"},
                  {"untested", "", "not yet critpath-approved (Bodhi 1)"}},
                 "critical-path updates in pending or testing",
                 "bodhi::client::async_critpath_updates: Bodhi 1 POST critpath, Bodhi 2 GET\n"
                 "updates/?critpath=true per status.",
                 A::none, {"key", "status", "request", "karma", "submitter", "release"}});
    c.push_back({"bodhi", "override-save", {"NVR..."},
                 {{"notes", "TEXT", ""}, {"expiration", "DATE", "YYYY-MM-DD[ HH:MM:SS] (UTC; required)"}},
                 "create or edit buildroot overrides",
                 "bodhi::client::async_save_override: Bodhi 1 POST override/save, Bodhi 2 POST overrides/.",
                 A::required, {"nvr", "submitter", "expiration_date", "expired_date"}});
    c.push_back({"bodhi", "override-expire", {"NVR"}, {}, "expire a buildroot override",
                 "bodhi::client::async_expire_override: Bodhi 1 POST override/expire; Bodhi 2 GET\n"
                 "overrides/NVR then POST overrides/ with expired.",
                 A::required});
    c.push_back({"bodhi", "overrides", {},
                 {{"mine", "", "your own (needs credentials)"},
                  {"user", "USERNAME", "submitted by USERNAME (Bodhi 2)"},
                  {"release", "NAME", ""},
                  {"build", "NVR", ""},
                  {"active", "", "active ones only"},
                  {"expired", "", "Bodhi 2: expired ones only"},
                  page_opt,
                  rows_opt},
                 "query buildroot overrides",
                 "bodhi::client::async_query_overrides: Bodhi 1 POST override/list, Bodhi 2 GET overrides/.",
                 A::optional, {"nvr", "submitter", "expiration_date", "expired_date"}});
    c.push_back({"bodhi", "override", {"NVR"}, {}, "one buildroot override (Bodhi 2)",
                 "bodhi::client::async_get_override: Bodhi 2 GET overrides/NVR.", A::none});
    c.push_back({"bodhi", "packages", {},
                 {{"name", "NAME", ""}, {"like", "TEXT", "name contains TEXT"}, page_opt, rows_opt},
                 "query packages (Bodhi 2)", "bodhi::client::async_query_packages: GET packages/.", A::none,
                 {"name", "requirements"}});
    c.push_back({"bodhi", "comments", {},
                 {{"update", "KEY", "(repeatable)", true},
                  {"package", "NAME", "(repeatable)", true},
                  {"user", "USERNAME", ""},
                  {"like", "TEXT", "text contains TEXT"},
                  page_opt,
                  rows_opt},
                 "query comments (Bodhi 2)", "bodhi::client::async_query_comments: GET comments/.", A::none,
                 {"id", "author", "karma", "timestamp", "text"}});
    return c;
}

} // namespace

const std::vector<command_spec>& commands()
{
    static const std::vector<command_spec> table = make_commands();
    return table;
}

const std::vector<option_spec>& global_options_spec()
{
    static const std::vector<option_spec> g = {
        {"url", "URL", "the service's base URL (FAS default https://admin.fedoraproject.org/accounts/,\n"
                       "Bodhi default https://bodhi.fedoraproject.org/); with --emulator a path such as\n"
                       "/updates/ picks another of its services"},
        {"insecure", "", "do not verify the server's certificate (never the default)"},
        {"ca-file", "FILE", "also trust the CA certificates in FILE (PEM)"},
        {"timeout", "DURATION", "deadline of each request: 30s, 500ms, 2m (default 30s)"},
        {"json", "", "print JSON on one line"},
        {"pretty", "", "print indented JSON"},
        {"table", "", "print a readable table (the default)"},
        {"user", "USERNAME", "log in as USERNAME (overrides FEDORA_USERNAME)"},
        {"openid-url", "URL", "Bodhi 2 login provider API (default https://id.fedoraproject.org/api/v1/)"},
        {"emulator", "", "start the embedded emulator in-process (HTTPS, own CA) and talk to it"},
        {"emulator-people", "N", "generated accounts in that emulator (default 200)"},
        {"quiet", "", "no progress line on stderr"},
        {"help", "", "help for the command (also -h)"},
        {"version", "", "print the version"},
    };
    return g;
}

const command_spec* find_command(std::string_view service, std::string_view name)
{
    for (const auto& c : commands())
        if (c.service == service && c.name == name)
            return &c;
    return nullptr;
}

} // namespace fedora::cli
