//! io_uring forbidden by seccomp (as under Docker's default profile): the test binary runs
//! itself again as a child that installs a filter making io_uring_setup/enter/register
//! fail with EPERM (or ENOSYS), then checks that `auto` serves on epoll and that a forced
//! `uring` fails with a clear error, without hanging or panicking.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::time::{Duration, Instant};

use ringhttp_tests::*;

const IO_URING_SETUP: u32 = 425;
const IO_URING_ENTER: u32 = 426;
const IO_URING_REGISTER: u32 = 427;
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

/// Installs, for every thread of this process, a seccomp filter under which the three
/// io_uring syscalls fail with `errno`.
fn forbid_io_uring(errno: u32) -> std::io::Result<()> {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf: 0,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let filter = [
        stmt(load, 4), // seccomp_data.arch
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 1,
            jf: 0,
            k: AUDIT_ARCH_X86_64,
        },
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(load, 0), // seccomp_data.nr
        jeq(IO_URING_SETUP, 3),
        jeq(IO_URING_ENTER, 2),
        jeq(IO_URING_REGISTER, 1),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(
            ret,
            libc::SECCOMP_RET_ERRNO | (errno & libc::SECCOMP_RET_DATA),
        ),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: plain prctl with integer arguments; affects only this process.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `prog` points at `filter`, a fully initialised BPF program that outlives the
    // call (the kernel copies it).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// io_uring_setup's errno as seen now (to prove the filter is in force).
fn io_uring_setup_errno() -> Option<i32> {
    let mut params = [0u8; 120]; // struct io_uring_params
                                 // SAFETY: io_uring_setup(1, &params) writes at most sizeof(io_uring_params) bytes to a
                                 // buffer of that size; a returned fd is closed at once.
    let rc = unsafe { libc::syscall(IO_URING_SETUP as libc::c_long, 1u32, params.as_mut_ptr()) };
    if rc >= 0 {
        // SAFETY: closing the ring fd we were just given.
        unsafe { libc::close(rc as libc::c_int) };
        return None;
    }
    std::io::Error::last_os_error().raw_os_error()
}

fn child(errno: i32) {
    forbid_io_uring(errno as u32).expect("install the seccomp filter");
    assert_eq!(io_uring_setup_errno(), Some(errno), "filter in force");

    // (a) auto: falls back to epoll and serves.
    let server = ServerBuilder::new()
        .shards(2)
        .backend(BackendKind::Auto)
        .on_request(|req, mut res| res.end_with(format!("noring {}", req.url())))
        .listen("127.0.0.1:0")
        .expect("auto must fall back to epoll");
    assert_eq!(server.backend(), BackendKind::Epoll);
    let mut c = Client::connect(&server);
    for i in 0..3 {
        c.send(get(&format!("/{i}")));
        assert_eq!(c.response().text(), format!("noring /{i}"));
    }
    println!("CHILD auto backend={}", server.backend());

    // (b) forced io_uring: a clear error, quickly, for a server and for a shard.
    let t0 = Instant::now();
    let err = match ServerBuilder::new()
        .shards(2)
        .backend(BackendKind::Uring)
        .listen("127.0.0.1:0")
    {
        Ok(_) => panic!("io_uring was forced and must fail under the filter"),
        Err(e) => e.to_string(),
    };
    assert!(t0.elapsed() < Duration::from_secs(2), "failed quickly");
    assert!(err.contains("seccomp"), "error names seccomp: {err}");
    if errno == libc::EPERM {
        assert!(
            err.contains("io_uring_disabled"),
            "error names the sysctl: {err}"
        );
    }
    let shard_err = match ServerBuilder::new()
        .backend(BackendKind::Uring)
        .build_shard("127.0.0.1:0")
    {
        Ok(_) => panic!("build_shard with io_uring must fail under the filter"),
        Err(e) => e.to_string(),
    };
    assert!(shard_err.contains("seccomp"), "{shard_err}");
    // The first server still serves after the failed attempts.
    c.send(get("/still"));
    assert_eq!(c.response().text(), "noring /still");
    println!("CHILD uring error: {err}");
}

#[test]
fn io_uring_forbidden_by_seccomp() {
    if let Ok(errno) = std::env::var("ITEST_NORING_ERRNO") {
        child(errno.parse().expect("errno"));
        return;
    }
    for (errno, name) in [(libc::EPERM, "EPERM"), (libc::ENOSYS, "ENOSYS")] {
        let (ok, out) = rerun_self(
            "io_uring_forbidden_by_seccomp",
            &[("ITEST_NORING_ERRNO", &errno.to_string())],
            Duration::from_secs(20),
        );
        assert!(ok, "child with {name} failed:\n{out}");
        assert!(out.contains("CHILD auto backend=epoll"), "{name}:\n{out}");
        assert!(out.contains("CHILD uring error: "), "{name}:\n{out}");
        assert!(!out.contains("panicked"), "{name}:\n{out}");
    }
}

/// Where io_uring is unavailable, an io_uring test variant reports itself skipped, and
/// fails under `RINGHTTP_REQUIRE_URING=1` (what CI sets) rather than quietly running on
/// epoll.
#[test]
fn uring_variants_skip_or_fail_without_io_uring() {
    if std::env::var_os("ITEST_NORING_VARIANT").is_some() {
        forbid_io_uring(libc::EPERM as u32).expect("install the seccomp filter");
        match std::panic::catch_unwind(|| variant_runs(BackendKind::Uring)) {
            Ok(runs) => println!("CHILD uring variant runs={runs}"),
            Err(_) => println!("CHILD uring variant failed"),
        }
        println!(
            "CHILD epoll variant runs={}",
            variant_runs(BackendKind::Epoll)
        );
        return;
    }
    for (require, expect) in [
        ("0", "CHILD uring variant runs=false"),
        ("1", "CHILD uring variant failed"),
    ] {
        let (ok, out) = rerun_self(
            "uring_variants_skip_or_fail_without_io_uring",
            &[
                ("ITEST_NORING_VARIANT", "1"),
                ("RINGHTTP_REQUIRE_URING", require),
            ],
            Duration::from_secs(20),
        );
        assert!(ok, "child (REQUIRE={require}) failed:\n{out}");
        assert!(out.contains(expect), "REQUIRE={require}:\n{out}");
        assert!(
            out.contains("CHILD epoll variant runs=true"),
            "REQUIRE={require}:\n{out}"
        );
        if require == "0" {
            assert!(out.contains("skipped"), "says skipped:\n{out}");
        } else {
            assert!(out.contains("RINGHTTP_REQUIRE_URING=1"), "says why:\n{out}");
        }
    }
}
