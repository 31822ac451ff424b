//! The load phase: simulated devices pushing prepared batches on a schedule and pulling after each.

use super::*;

/// What one simulated device did in the window.
#[derive(Default)]
pub(crate) struct DeviceStats {
    pub(crate) push_latencies: Vec<Duration>,
    pub(crate) pull_latencies: Vec<Duration>,
    pub(crate) acknowledged: u64,
    pub(crate) rejected: u64,
    pub(crate) pulled_docs: u64,
    pub(crate) errors: u64,
    pub(crate) exhausted: bool,
}

/// A simulated device: its pre-built push bodies, its cursor and its transport.
pub(crate) struct LoadDevice {
    pub(crate) transport: HttpTransport,
    pub(crate) bodies: Vec<Vec<u8>>,
    pub(crate) cursor: u64,
}

pub(crate) fn load(
    http: &ureq::Agent,
    server: &Server,
    dir: &Path,
    scale: f64,
    devices: usize,
    reps: usize,
) -> BenchResult<()> {
    let base = &server.base;
    let started = Instant::now();
    let logins: Vec<Login> = (0..reps)
        .map(|i| login(http, base, &format!("load-rep-{i:02}")))
        .collect::<BenchResult<_>>()?;
    let window = Duration::from_secs_f64((LOAD_SECONDS * scale).max(1.0));
    let period = Duration::from_secs_f64(LOAD_PERIOD_S);
    let batches = (window.as_secs_f64() / LOAD_PERIOD_S).ceil() as usize + 2;
    let customers_per_territory = scaled(LOAD_CUSTOMERS, scale).max(10);
    // Every rep's first device creates the territory's customers.
    let stores: Vec<Store> = (0..devices)
        .map(|d| {
            device_store(
                http,
                base,
                &logins[d % reps],
                &dir.join(format!("load-{d:03}.sqlite")),
            )
        })
        .collect::<BenchResult<_>>()?;
    let mut rng = SmallRng::seed_from_u64(SEED ^ 0x0200);
    for (r, login) in logins.iter().enumerate() {
        let store = &stores[r];
        for _ in 0..customers_per_territory {
            let (mut customer, _) = gen_customer(&mut rng);
            customer.owner = Some(login.user_id.clone());
            customer.territory = Some(format!("load-{r:02}"));
            store.create(customer)?;
        }
        push_all(store, &HttpTransport::new(base, &login.token), 500)?;
    }
    // Then every device pulls (all cursors end at the same head) and prepares its pushes.
    let next = AtomicUsize::new(0);
    let prepared: Mutex<Vec<Option<LoadDevice>>> = Mutex::new((0..devices).map(|_| None).collect());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| -> BenchResult<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> BenchResult<()> {
                    loop {
                        let d = next.fetch_add(1, Ordering::Relaxed);
                        if d >= devices {
                            return Ok(());
                        }
                        let login = &logins[d % reps];
                        let device = prepare_device(&stores[d], base, login, d as u64, batches)?;
                        lock(&prepared)[d] = Some(device);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().map_err(|_| "a preparing thread panicked")??;
        }
        Ok(())
    })?;
    drop(stores);
    let prepared: Vec<LoadDevice> = prepared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .collect::<Option<_>>()
        .ok_or("a device was not prepared")?;
    let ready: usize = prepared.iter().map(|d| d.bodies.len()).sum();
    comment(&format!(
        "load: {devices} devices of {reps} reps, {customers_per_territory} customers per territory, \
         {ready} pushes of {LOAD_BATCH} changes ready ({} changes), prepared in {:.1} s",
        ready * LOAD_BATCH,
        started.elapsed().as_secs_f64()
    ));

    // The window.
    let merged_metric = "fieldcrm_changes_merged_total";
    let merged_before = server.metric(http, merged_metric)?;
    let route = |r: &str, what: &str| {
        format!("fieldcrm_http_request_seconds_{what}{{method=\"POST\",route=\"/v1/sync/{r}\"}}")
    };
    let server_before: Vec<f64> = ["push", "pull"]
        .iter()
        .flat_map(|r| [route(r, "sum"), route(r, "count")])
        .map(|m| server.metric(http, &m))
        .collect::<BenchResult<_>>()?;
    let baseline_rss = process_memory_kb(server.pid()).map_or(0, |(rss, _)| rss);
    let cpu_before = process_cpu_s(server.pid()).unwrap_or(0.0);
    let stop = AtomicBool::new(false);
    let peak_rss = AtomicU64::new(baseline_rss);
    let barrier = Barrier::new(devices + 1);
    let pid = server.pid();
    let (stats, elapsed) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if let Some((rss, _)) = process_memory_kb(pid) {
                    peak_rss.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let handles: Vec<_> = prepared
            .into_iter()
            .enumerate()
            .map(|(d, device)| {
                let barrier = &barrier;
                // Devices are spread evenly over the period.
                let offset = period.mul_f64(d as f64 / devices as f64);
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    run_device(device, start + offset, period, start + window)
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let stats: Vec<DeviceStats> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        (stats, elapsed)
    });
    let merged = server.metric(http, merged_metric)? - merged_before;
    let server_cpu = process_cpu_s(server.pid()).unwrap_or(0.0) - cpu_before;
    let server_after: Vec<f64> = ["push", "pull"]
        .iter()
        .flat_map(|r| [route(r, "sum"), route(r, "count")])
        .map(|m| server.metric(http, &m))
        .collect::<BenchResult<_>>()?;
    let delta: Vec<f64> = server_after
        .iter()
        .zip(&server_before)
        .map(|(a, b)| a - b)
        .collect();

    let mut pushes: Vec<Duration> = stats
        .iter()
        .flat_map(|s| s.push_latencies.iter().copied())
        .collect();
    let mut pulls: Vec<Duration> = stats
        .iter()
        .flat_map(|s| s.pull_latencies.iter().copied())
        .collect();
    let acknowledged: u64 = stats.iter().map(|s| s.acknowledged).sum();
    let rejected: u64 = stats.iter().map(|s| s.rejected).sum();
    let pulled: u64 = stats.iter().map(|s| s.pulled_docs).sum();
    let errors: u64 = stats.iter().map(|s| s.errors).sum();
    let exhausted = stats.iter().filter(|s| s.exhausted).count();

    emit(
        "merged_changes_per_s",
        merged / elapsed.as_secs_f64().max(1e-9),
        "changes/s",
    );
    let push_p50 = quantile(&mut pushes, 0.5);
    let pull_p50 = quantile(&mut pulls, 0.5);
    let pull_p99 = quantile(&mut pulls, 0.99);
    emit("push_p99_ms", quantile(&mut pushes, 0.99), "ms");
    emit(
        "server_rss_mb",
        peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
        "MB",
    );
    comment(&format!(
        "load: {:.1} s window ({:.1} s until the last device stopped), {} pushes ({acknowledged} \
         changes acknowledged, {rejected} rejected, {merged:.0} merged), {} pulls ({pulled} documents), \
         {errors} failed requests, {exhausted} devices ran out of prepared pushes",
        window.as_secs_f64(),
        elapsed.as_secs_f64(),
        pushes.len(),
        pulls.len()
    ));
    comment(&format!(
        "load latencies: push p50 {push_p50:.1} ms, max {:.1} ms; pull p50 {pull_p50:.1} ms, p99 {pull_p99:.1} ms",
        pushes.last().map_or(0.0, |d| ms(*d)),
    ));
    let per = |sum: f64, count: f64| if count > 0.0 { sum / count * 1e3 } else { 0.0 };
    comment(&format!(
        "load, server side: push handler mean {:.1} ms ({:.1} s busy over the window), pull handler \
         mean {:.1} ms ({:.1} s busy); server RSS before the window {:.1} MB; server CPU {:.2} \
         cores on average of {} ({:.0} us per merged change)",
        per(delta[0], delta[1]),
        delta[0],
        per(delta[2], delta[3]),
        delta[2],
        baseline_rss as f64 / 1024.0,
        server_cpu / elapsed.as_secs_f64().max(1e-9),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        server_cpu * 1e6 / merged.max(1.0),
    ));
    Ok(())
}

/// Syncs a load device to the head, then writes its batches (visits and customer edits) and
/// turns them into push bodies, acknowledged locally so each body is built once.
pub(crate) fn prepare_device(
    store: &Store,
    base: &str,
    login: &Login,
    serial: u64,
    batches: usize,
) -> BenchResult<LoadDevice> {
    let transport = HttpTransport::new(base, &login.token);
    pull_all(store, &transport)?;
    let customers = customers_in(store)?;
    if customers.is_empty() {
        return Err("a load device sees no customers".into());
    }
    let mut rng = SmallRng::seed_from_u64(SEED ^ (0x1000 + serial));
    // The visits the first batch completes were planned (and synced) before the window.
    let mut planned: Vec<(String, usize)> = Vec::new();
    let plan = |rng: &mut SmallRng, planned: &mut Vec<(String, usize)>| -> BenchResult<()> {
        for _ in 0..LOAD_PLANNED {
            let c = rng.random_range(0..customers.len());
            let visit = store.create(plan_visit(rng, &customers[c], &login.user_id))?;
            planned.push((visit.meta.id, c));
        }
        Ok(())
    };
    plan(&mut rng, &mut planned)?;
    push_all(store, &transport, 500)?;
    pull_all(store, &transport)?;
    let cursor = u64::try_from(store.sync_status()?.cursor).unwrap_or(0);
    for batch in 0..batches {
        let due: Vec<(String, usize)> =
            planned.drain(..LOAD_COMPLETED.min(planned.len())).collect();
        plan(&mut rng, &mut planned)?;
        for (id, c) in due {
            let mut visit: Visit = store.get(&id)?.ok_or("visit vanished")?;
            let at = visit.planned_start.unwrap_or(BASE_MS) + rng.random_range(-10..15) * MINUTE_MS;
            record_outcome(&mut rng, &mut visit, &customers[c], at);
            store.update(visit)?;
        }
        for i in 0..LOAD_CUSTOMER_EDITS {
            let id = &pick(&mut rng, &customers).meta.id;
            let mut edited: Customer = store.get(id)?.ok_or("customer vanished")?;
            edit_customer(&mut rng, &mut edited, batch * LOAD_BATCH + i);
            store.update(edited)?;
        }
    }
    let mut session = SyncSession::new(store)?;
    session.push_batch = LOAD_BATCH as u32;
    let mut bodies = Vec::with_capacity(batches);
    while let Some(push) = session.build_push()? {
        store.acknowledge(&push.hashes)?;
        bodies.push(push.body);
    }
    Ok(LoadDevice {
        transport,
        bodies,
        cursor,
    })
}

/// One push per `period` from `first` on (then a pull to the head), until the deadline or the
/// prepared pushes run out. Latency counts from the scheduled time. A failed push is retried
/// with the same body.
pub(crate) fn run_device(
    device: LoadDevice,
    first: Instant,
    period: Duration,
    deadline: Instant,
) -> DeviceStats {
    let LoadDevice {
        transport,
        bodies,
        mut cursor,
    } = device;
    let mut stats = DeviceStats::default();
    let mut next = 0;
    let mut scheduled = first;
    // A server that falls far behind still gets the window's pushes, but not forever.
    let hard_stop = deadline + deadline.saturating_duration_since(first) + period;
    while scheduled < deadline && Instant::now() < hard_stop {
        let Some(body) = bodies.get(next) else {
            stats.exhausted = true;
            break;
        };
        if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match transport.push(body.clone()) {
            Ok(response) => {
                stats.push_latencies.push(scheduled.elapsed());
                match protocol::decode::<PushResponse>(&response, MAX_RESPONSE_BYTES) {
                    Ok(ack) => {
                        stats.acknowledged += ack.acknowledged.len() as u64;
                        stats.rejected += ack
                            .rejected
                            .iter()
                            .map(|r| r.hashes.len() as u64)
                            .sum::<u64>();
                        next += 1;
                        scheduled += period;
                    }
                    Err(_) => stats.errors += 1,
                }
            }
            Err(_) => {
                stats.errors += 1;
                continue;
            }
        }
        loop {
            let Ok(request) = protocol::encode(&PullRequest {
                cursor,
                limit: LOAD_PULL_LIMIT,
            }) else {
                stats.errors += 1;
                break;
            };
            let started = Instant::now();
            let page = transport
                .pull(request)
                .ok()
                .and_then(|body| protocol::decode_pull_response(&body, MAX_RESPONSE_BYTES).ok());
            stats.pull_latencies.push(started.elapsed());
            let Some(page) = page else {
                stats.errors += 1;
                break;
            };
            stats.pulled_docs += page.docs.len() as u64;
            cursor = page.next_cursor;
            if !page.has_more || Instant::now() >= deadline {
                break;
            }
        }
    }
    stats
}
