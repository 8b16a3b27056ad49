// Soak test (not in the default CI run):
//
//   build/test/soak/soak --minutes 3 [--chains 32] [--threads 2] [--fault-percent 1]
//
// Mixed users and FAS + Bodhi 1 + Bodhi 2 read operations through ONE http::client
// transport (shared by a fas::proxy_client and two bodhi::clients) against the in-process
// emulator, with a random emulator fault (closed mid-answer, broken JSON, HTML 503, short
// body, broken chunking, close before answering, latency) armed for 1% of the calls. After
// a warm-up, the heap in use and the RSS are measured; the soak runs; then it asserts:
//   * every call completed exactly once (started == completed, no second completion),
//   * no answer was delivered to the wrong user or the wrong key (0 mismatches),
//   * failures were typed fedora errors and at most one per armed fault,
//   * the server's open sockets == the pool's idle connections, none in use or waiting,
//   * the heap in use (mallinfo2) is back within 4 MiB of its post-warm-up level and the
//     RSS within 16 MiB.
// Prints a summary; exits 1 when a check fails.
#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace emu = fedora::emulator;
namespace fas = fedora::fas;
namespace bodhi = fedora::bodhi;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct options
{
    double minutes = 3;
    int chains = 32;          // calls in flight at any time
    int threads = 2;          // threads running the client's io_context
    double fault_percent = 1;
    double warmup_seconds = 20;
};

std::size_t rss_bytes()
{
    std::ifstream f("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    f >> size >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::size_t heap_in_use()
{
    malloc_trim(0);
    return mallinfo2().uordblks;
}

struct fas_user
{
    std::string name;
    std::int64_t id;
    std::string session;
};

struct soak
{
    options opt;

    // The emulated sites: FAS2 under /accounts, Bodhi 1 under /updates, Bodhi 2 under
    // /bodhi, the OpenID provider on another origin.
    std::shared_ptr<emu::fas_directory> directory;
    std::shared_ptr<emu::bodhi_data> data;
    std::shared_ptr<emu::bodhi2_application> b2app;
    emu::server server{{.threads = 2}};
    emu::server provider{{.threads = 1}};

    asio::io_context ioc;
    std::shared_ptr<fedora::http::client> transport;
    std::unique_ptr<fas::proxy_client> fasc;
    std::unique_ptr<bodhi::client> b1, b2;

    std::vector<fas_user> users;
    std::vector<std::string> b1_keys, b2_keys;

    // Accounting.
    std::atomic<bool> running{true};
    std::atomic<std::uint64_t> started{0}, completed{0}, twice{0}, ok{0}, failed{0}, mismatches{0},
        untyped{0}, faults_armed{0};
    std::mutex mutex;
    std::map<std::string, std::uint64_t> errors_by_kind;
    std::map<std::string, std::uint64_t> calls_by_op;

    explicit soak(options o) : opt(o)
    {
        emu::fas_data_params dp;
        dp.people = 80;
        directory = emu::fas_directory::generate(dp);
        server.mount("/accounts", std::make_shared<emu::fas_application>(directory));
        emu::bodhi_data_params bp;
        bp.updates = 60;
        bp.start_time = 1442318400;
        data = std::make_shared<emu::bodhi_data>(bp);
        server.mount("/updates", std::make_shared<emu::bodhi1_application>(data));
        b2app = std::make_shared<emu::bodhi2_application>(data);
        server.mount("/bodhi", b2app);
        server.start();
        provider.mount("/id", std::make_shared<emu::openid_provider_application>(data));
        provider.start();
        b2app->set_openid_endpoint(provider.origin() + "/id/openid/");

        fedora::http::client_params hp;
        hp.pool.max_connections_per_origin = 8;
        hp.default_timeout = 10s;
        transport = std::make_shared<fedora::http::client>(ioc.get_executor(), hp);
        fas::client_params fp;
        fp.base_url = server.origin() + "/accounts/";
        fasc = std::make_unique<fas::proxy_client>(transport, fp);
        for (auto v : {bodhi::server_version::bodhi1, bodhi::server_version::bodhi2}) {
            bodhi::client_params p;
            const bool one = v == bodhi::server_version::bodhi1;
            p.base_url = server.origin() + (one ? "/updates/" : "/bodhi/");
            p.openid_api_url = provider.origin() + "/id/api/v1/";
            p.version = v;
            (one ? b1 : b2) = std::make_unique<bodhi::client>(transport, p);
        }
    }

    // Logs 20 FAS users in and lists some update keys of each Bodhi, before any fault.
    bool prepare()
    {
        const std::string password = emu::fas_data_params{}.generated_password;
        {
            auto r = directory->read();
            for (auto& p : r.people())
                if (users.size() < 20 && p.id >= 200000 && p.status == emu::fas_account_status::active)
                    users.push_back({p.username, p.id, {}});
        }
        std::thread runner;
        auto work = asio::make_work_guard(ioc);
        runner = std::thread([&] { ioc.run(); });
        bool good = users.size() == 20;
        for (auto& u : users) {
            auto r = fasc->async_login(u.name, password, fedora::with_diagnostics(asio::use_future)).get();
            u.session = r.session_id;
            good = good && !u.session.empty();
        }
        bodhi::update_query q;
        q.rows_per_page = 40;
        for (auto* c : {b1.get(), b2.get()}) {
            auto page = c->async_query_updates(q, bodhi::auth_params::anonymous(),
                                               fedora::with_diagnostics(asio::use_future)).get();
            for (auto& u : page.value.rows)
                (c == b1.get() ? b1_keys : b2_keys).push_back(u.key);
        }
        work.reset();
        runner.join();
        ioc.restart();
        return good && b1_keys.size() == 40 && b2_keys.size() == 40;
    }

    void note_error(fedora::error_code ec)
    {
        ++failed;
        if (ec.category() != fedora::error_category())
            ++untyped;
        std::lock_guard lock(mutex);
        ++errors_by_kind[ec.message()];
    }

    void count_op(const char* name)
    {
        std::lock_guard lock(mutex);
        ++calls_by_op[name];
    }

    // One chain: a call, and from its completion the next one, until time is up.
    void next(std::uint64_t seed)
    {
        if (!running)
            return;
        std::minstd_rand rng(static_cast<std::uint32_t>(seed));
        const auto pick = rng();
        if (std::uniform_real_distribution<double>(0, 100)(rng) < opt.fault_percent) {
            static constexpr emu::fault_kind kinds[] = {
                emu::fault_kind::close_after_bytes, emu::fault_kind::malformed_json,
                emu::fault_kind::server_error_html, emu::fault_kind::wrong_content_length,
                emu::fault_kind::broken_chunked,    emu::fault_kind::close_before_response,
                emu::fault_kind::latency,
            };
            emu::fault f;
            f.kind = kinds[rng() % std::size(kinds)];
            f.bytes = rng() % 300;
            f.delay = std::chrono::milliseconds(rng() % 50);
            f.count = 1;
            server.set_fault("", f);
            ++faults_armed;
        }
        ++started;
        // Each call's completion is counted through its own flag: a second completion
        // of the same call is caught, not just a total.
        auto once = std::make_shared<std::atomic<int>>(0);
        auto finish = [this, once, seed](bool good_answer, fedora::error_code ec) {
            if (once->fetch_add(1) != 0) {
                ++twice;
                return;
            }
            ++completed;
            if (ec)
                note_error(ec);
            else if (good_answer)
                ++ok;
            else
                ++mismatches;
            next(seed * 6364136223846793005ull + 1442695040888963407ull);
        };
        const auto& u = users[pick % users.size()];
        switch (pick % 7) {
        case 0:
            count_op("fas get_user_info");
            fasc->async_get_user_info(fas::auth_params::session(u.session),
                                      [finish, name = u.name](fedora::error_code ec, fas::reply<fas::person> r) {
                                          finish(r.value.username == name, ec);
                                      });
            break;
        case 1:
            count_op("fas person_by_id");
            fasc->async_person_by_id(u.id, fas::auth_params::session(u.session),
                                     [finish, name = u.name](fedora::error_code ec, fas::reply<fas::person> r) {
                                         // Only the user themself sees their password hash.
                                         finish(r.value.username == name && r.value.password != "*", ec);
                                     });
            break;
        case 2:
            count_op("fas group_list");
            fasc->async_group_list(fas::auth_params::session(u.session),
                                   [finish](fedora::error_code ec, fas::reply<fas::group_list> r) {
                                       finish(!r.value.groups.empty(), ec);
                                   });
            break;
        case 3:
        case 4: {
            const bool one = pick % 7 == 3;
            count_op(one ? "bodhi1 get_update" : "bodhi2 get_update");
            const auto& keys = one ? b1_keys : b2_keys;
            std::string key = keys[(pick / 7) % keys.size()];
            (one ? b1 : b2)->async_get_update(key, bodhi::auth_params::anonymous(),
                                              [finish, key](fedora::error_code ec, bodhi::reply<bodhi::update> r) {
                                                  finish(r.value.key == key, ec);
                                              });
            break;
        }
        case 5: {
            count_op("bodhi query_updates");
            bodhi::update_query q;
            q.page = 1 + static_cast<int>((pick / 7) % 3);
            q.rows_per_page = 20;
            auto* c = (pick / 7) % 2 ? b1.get() : b2.get();
            c->async_query_updates(q, bodhi::auth_params::anonymous(),
                                   [finish, page = q.page](fedora::error_code ec, bodhi::reply<bodhi::page<bodhi::update>> r) {
                                       finish(r.value.number == page && r.value.rows.size() == 20, ec);
                                   });
            break;
        }
        default: {
            count_op("bodhi releases");
            auto* c = (pick / 7) % 2 ? b1.get() : b2.get();
            c->async_releases(bodhi::auth_params::anonymous(),
                              [finish](fedora::error_code ec, bodhi::reply<std::vector<bodhi::release>> r) {
                                  finish(r.value.size() == 5, ec);
                              });
            break;
        }
        }
    }

    // Runs the chains for `seconds` on opt.threads threads; returns when every call is done.
    void run_for(double seconds, std::uint64_t seed_base)
    {
        running = true;
        for (int c = 0; c < opt.chains; ++c)
            next(seed_base + static_cast<std::uint64_t>(c) * 7919);
        std::vector<std::thread> threads;
        for (int t = 0; t < opt.threads; ++t)
            threads.emplace_back([this] { ioc.run(); });
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        running = false;
        for (auto& t : threads)
            t.join();
        ioc.restart();
        server.clear_faults();
    }

    // Waits until the server has seen every close, then compares sockets.
    std::pair<std::size_t, std::size_t> sockets_vs_idle()
    {
        std::size_t open = 0, idle = 0;
        for (int i = 0; i < 100; ++i) {
            open = server.stats().connections_open + provider.stats().connections_open;
            idle = 0;
            for (auto& o : transport->stats().origins)
                idle += o.idle;
            if (open == idle)
                break;
            std::this_thread::sleep_for(50ms);
        }
        return {open, idle};
    }
};

} // namespace

int main(int argc, char** argv)
{
    options opt;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const double v = std::atof(argv[i + 1]);
        if (a == "--minutes")
            opt.minutes = v;
        else if (a == "--chains")
            opt.chains = static_cast<int>(v);
        else if (a == "--threads")
            opt.threads = static_cast<int>(v);
        else if (a == "--fault-percent")
            opt.fault_percent = v;
        else if (a == "--warmup-seconds")
            opt.warmup_seconds = v;
        else {
            std::fprintf(stderr, "usage: %s [--minutes M] [--chains N] [--threads N] [--fault-percent P] "
                                 "[--warmup-seconds S]\n", argv[0]);
            return 2;
        }
    }
    soak s(opt);
    if (!s.prepare()) {
        std::fprintf(stderr, "soak: setup failed (logins or update keys)\n");
        return 1;
    }
    std::printf("soak: %d chains, %d threads, %.1f%% faults, %.0f s warm-up, %.1f min\n", opt.chains, opt.threads,
                opt.fault_percent, opt.warmup_seconds, opt.minutes);
    std::fflush(stdout);

    s.run_for(opt.warmup_seconds, 1);
    s.sockets_vs_idle();
    const std::size_t heap_before = heap_in_use(), rss_before = rss_bytes();
    const std::uint64_t warm_calls = s.completed.load();
    s.started = 0;
    s.completed = 0;
    s.ok = 0;
    s.failed = 0;
    s.faults_armed = 0;
    {
        std::lock_guard lock(s.mutex);
        s.errors_by_kind.clear();
        s.calls_by_op.clear();
    }

    const auto t0 = clock_type::now();
    s.run_for(opt.minutes * 60, 1000003);
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto [open, idle] = s.sockets_vs_idle();
    std::size_t in_use = 0, waiting = 0, opened = 0, reused = 0, retries = 0;
    for (auto& o : s.transport->stats().origins) {
        in_use += o.in_use;
        waiting += o.waiting;
        opened += o.opened;
        reused += o.reused;
        retries += o.retries;
    }
    const std::size_t heap_after = heap_in_use(), rss_after = rss_bytes();

    std::printf("warm-up: %llu calls\n", static_cast<unsigned long long>(warm_calls));
    std::printf("calls: %llu started, %llu completed, %llu completed twice, %.0f calls/s\n",
                static_cast<unsigned long long>(s.started.load()), static_cast<unsigned long long>(s.completed.load()),
                static_cast<unsigned long long>(s.twice.load()), s.completed.load() / secs);
    {
        std::lock_guard lock(s.mutex);
        for (auto& [op, n] : s.calls_by_op)
            std::printf("  %-22s %llu\n", op.c_str(), static_cast<unsigned long long>(n));
        std::printf("results: %llu ok, %llu failed, %llu wrong answers, %llu untyped errors; %llu faults armed\n",
                    static_cast<unsigned long long>(s.ok.load()), static_cast<unsigned long long>(s.failed.load()),
                    static_cast<unsigned long long>(s.mismatches.load()),
                    static_cast<unsigned long long>(s.untyped.load()),
                    static_cast<unsigned long long>(s.faults_armed.load()));
        for (auto& [kind, n] : s.errors_by_kind)
            std::printf("  %-22s %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
    }
    std::printf("pool: %zu opened, %zu reused, %zu retries; now %zu idle, %zu in use, %zu waiting; server sockets open: %zu\n",
                opened, reused, retries, idle, in_use, waiting, open);
    std::printf("memory: heap in use %.2f -> %.2f MiB, RSS %.2f -> %.2f MiB\n", heap_before / 1048576.0,
                heap_after / 1048576.0, rss_before / 1048576.0, rss_after / 1048576.0);

    int failures = 0;
    auto check = [&](bool cond, const char* what) {
        if (!cond) {
            std::printf("FAILED: %s\n", what);
            ++failures;
        }
    };
    check(s.started == s.completed, "every call completed");
    check(s.twice == 0, "no call completed twice");
    check(s.mismatches == 0, "no answer for the wrong user or key");
    check(s.untyped == 0, "every failure is a typed fedora error");
    check(s.failed <= s.faults_armed, "at most one failed call per armed fault");
    check(s.completed > 0 && s.ok > 0, "calls succeeded");
    check(open == idle, "server sockets open == pool idle connections");
    check(in_use == 0 && waiting == 0, "no connection in use, no call waiting");
    check(heap_after <= heap_before + 4 * 1048576, "heap in use back within 4 MiB");
    check(rss_after <= rss_before + 16 * 1048576, "RSS back within 16 MiB");
    std::printf("soak: %s\n", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
