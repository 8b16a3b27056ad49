// Scale: N calls (100,000 by default) started at once on one proxy_client whose pool has 64
// connections, against the in-process emulator. Measures the heap held per waiting call
// (the first 64 requests are held by the server for a second, so everything else is
// queued when the heap is read) and the queue wait of every call (the observer's
// pool_wait), whose p99/p50 shows the queue is FIFO. Prints one JSON line; exits 1 if a
// call was lost, completed twice or failed.
//
//   build/bench/scale-bench [--calls N] [--connections C]
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/io_context.hpp>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace fas = fedora::fas;
namespace emu = fedora::emulator;
using clock_type = std::chrono::steady_clock;

namespace {

std::size_t heap_in_use()
{
    auto m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t calls = 100000, connections = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--calls"))
            calls = std::stoul(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--connections"))
            connections = std::stoul(argv[i + 1]);
    }

    emu::fas_data_params dp;
    dp.people = 500;
    auto directory = emu::fas_directory::generate(dp);
    std::vector<std::int64_t> ids;
    {
        auto view = directory->read();
        for (const auto& person : view.people())
            if (person.status == emu::fas_account_status::active)
                ids.push_back(person.id);
    }
    emu::server_params sp;
    sp.record_requests = false;
    emu::server server(sp);
    server.mount("/accounts", std::make_shared<emu::fas_application>(directory, emu::fas_app_params{}));
    server.start();

    asio::io_context ioc(1);
    std::vector<double> waits_ms;
    waits_ms.reserve(calls + 16);
    fas::client_params params;
    params.base_url = server.origin() + "/accounts/";
    params.timeout = std::chrono::minutes(10);
    params.http.pool.max_connections_per_origin = connections;
    params.http.pool.max_waiting_per_origin = calls;
    params.http.on_exchange = [&](const fedora::http::exchange_event& e) {
        waits_ms.push_back(std::chrono::duration<double, std::milli>(e.pool_wait).count());
    };
    fas::proxy_client proxy(ioc.get_executor(), params);

    // One session for every call, as a service acting for one user would.
    std::string session;
    proxy.async_login("jdoe", "jdoe-pass", [&](fedora::error_code ec, fas::reply<fas::login_info> r) {
        if (ec)
            std::fprintf(stderr, "login failed: %s\n", r.diag.message.c_str());
        session = r.session_id;
    });
    ioc.run();
    ioc.restart();
    if (session.empty())
        return 1;
    waits_ms.clear();

    // The first requests of the pool's connections are held, so that the rest queue up.
    emu::fault hold;
    hold.kind = emu::fault_kind::latency;
    hold.delay = std::chrono::seconds(1);
    hold.count = connections;
    server.set_fault("/accounts/json/person_by_id", hold);

    std::vector<unsigned char> completions(calls, 0);
    std::size_t done = 0, errors = 0;
    const auto auth = fas::auth_params::session(session);
    const std::size_t heap_before = heap_in_use();
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < calls; ++i) {
        proxy.async_person_by_id(ids[i % ids.size()], auth,
                                 [&, i](fedora::error_code ec, fas::reply<fas::person> r) {
                                     ++completions[i];
                                     ++done;
                                     if (ec || r.value.username.empty()) {
                                         if (errors++ == 0)
                                             std::fprintf(stderr, "first error: %s: %s (status %u)\n",
                                                          ec.message().c_str(), r.diag.message.c_str(),
                                                          r.diag.http_status);
                                     }
                                 });
    }
    // Let every call reach the pool's queue.
    std::size_t waiting = 0;
    for (int spin = 0; spin < 2000 && waiting + connections < calls; ++spin) {
        ioc.run_for(std::chrono::milliseconds(2));
        auto st = proxy.transport()->stats();
        waiting = st.origins.empty() ? 0 : st.origins[0].waiting;
    }
    const std::size_t heap_queued = heap_in_use();
    ioc.run();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();

    std::size_t once = 0;
    for (auto c : completions)
        once += c == 1;
    auto st = proxy.transport()->stats();
    const double p50 = percentile(waits_ms, 0.50), p99 = percentile(waits_ms, 0.99);
    const double per_call = static_cast<double>(heap_queued - std::min(heap_queued, heap_before)) /
                            static_cast<double>(std::max<std::size_t>(waiting, 1));
    std::printf("{\"calls\":%zu,\"completed_once\":%zu,\"errors\":%zu,\"seconds\":%.3f,"
                "\"queued_at_peak\":%zu,\"heap_bytes_per_waiting_call\":%.0f,"
                "\"queue_wait_ms_p50\":%.1f,\"queue_wait_ms_p99\":%.1f,\"p99_over_p50\":%.2f,"
                "\"connections_opened\":%llu}\n",
                calls, once, errors, seconds, waiting, per_call, p50, p99, p50 > 0 ? p99 / p50 : 0.0,
                static_cast<unsigned long long>(st.origins.empty() ? 0 : st.origins[0].opened));
    return (once == calls && done == calls && errors == 0) ? 0 : 1;
}
