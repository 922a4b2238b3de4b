//! End-to-end CPU measurement: a correct kernel and planted faults in one batch.

mod common;

use common::*;
use tilegrad_measure::{CpuKernel, CpuRunner, MeasureError, WrongKind};

fn wrong_kind(r: &Result<tilegrad_measure::Measurement, MeasureError>) -> Option<WrongKind> {
    match r {
        Err(MeasureError::WrongAnswer { kind, .. }) => Some(*kind),
        _ => None,
    }
}

#[test]
fn planted_faults_are_typed_and_the_batch_continues() {
    let problem = matmul_problem(7);
    let mut runner = CpuRunner::new(test_config()).unwrap();
    let full = M.to_string();
    let kernels: Vec<CpuKernel> = vec![
        good("ok0"),
        matmul_with("segv", &full, "*(volatile float *)0 = 1.0f;"),
        good("ok1"),
        matmul_with("hang", &full, "volatile int spin = 1; while (spin) {}"),
        good("ok2"),
        matmul_with("oob", &full, &format!("c[{}] = 0.0f;", M * N)),
        matmul_with("oob_before", &full, "c[-1] = 0.0f;"),
        matmul_with("wrong", &full, "c[5] += 1.0f;"),
        matmul_with("unwritten", &(M - 1).to_string(), ""),
        matmul_with("nan", &full, "c[3] = 0.0f / 0.0f;"),
        matmul_with("clobber", &full, "((float *)a)[0] = 2.0f;"),
        CpuKernel::new(
            "void broken(float *const *args) { int x = ; }".into(),
            "broken".into(),
        ),
        CpuKernel::new(
            "void named(float *const *args) {}".into(),
            "missing_symbol".into(),
        ),
        good("ok3"),
        // Writes to fd 1 must not reach the protocol channel.
        matmul_with(
            "noisy",
            &full,
            r#"{ extern long write(int, const void *, unsigned long); write(1, "{\"id\":1}\n", 9); }"#,
        ),
    ];
    let r = runner.measure(&problem, &kernels);
    assert_eq!(r.len(), kernels.len());
    for i in [0, 2, 4, 13, 14] {
        let m = r[i].as_ref().unwrap_or_else(|e| panic!("kernel {i}: {e}"));
        assert!(m.timing.samples_s.len() >= 5 && m.timing.samples_s.len() <= 20);
        assert!(m.timing.median_s > 0.0 && m.build_s > 0.0);
    }
    assert!(
        matches!(
            &r[1],
            Err(MeasureError::Crash {
                signal: Some(11),
                ..
            })
        ),
        "{:?}",
        r[1]
    );
    assert!(
        matches!(&r[3], Err(MeasureError::RunTimeout { limit_s }) if (*limit_s - 0.5).abs() < 1e-3),
        "{:?}",
        r[3]
    );
    assert_eq!(
        wrong_kind(&r[5]),
        Some(WrongKind::OutOfBounds),
        "{:?}",
        r[5]
    );
    assert!(matches!(
        &r[5],
        Err(MeasureError::WrongAnswer { first_bad_index, .. }) if *first_bad_index == (M * N) as i64
    ));
    assert!(matches!(
        &r[6],
        Err(MeasureError::WrongAnswer {
            kind: WrongKind::OutOfBounds,
            first_bad_index: -1,
            ..
        })
    ));
    assert!(
        matches!(
            &r[7],
            Err(MeasureError::WrongAnswer { kind: WrongKind::Mismatch, first_bad_index: 5, max_abs_err, .. })
                if (*max_abs_err - 1.0).abs() < 1e-3
        ),
        "{:?}",
        r[7]
    );
    assert!(
        matches!(
            &r[8],
            Err(MeasureError::WrongAnswer { kind: WrongKind::Unwritten, first_bad_index, .. })
                if *first_bad_index == ((M - 1) * N) as i64
        ),
        "{:?}",
        r[8]
    );
    assert_eq!(wrong_kind(&r[9]), Some(WrongKind::NonFinite), "{:?}", r[9]);
    assert_eq!(
        wrong_kind(&r[10]),
        Some(WrongKind::InputModified),
        "{:?}",
        r[10]
    );
    match &r[11] {
        Err(MeasureError::BuildError { log }) => {
            assert!(log.contains("error"), "{log}");
            assert!(log.contains("expected expression"), "{log}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&r[12], Err(MeasureError::LoadError(msg)) if msg.contains("missing_symbol")),
        "{:?}",
        r[12]
    );
    // A fresh worker after the segfault, the hang, both out-of-bounds writes and the input
    // clobber (memory of the worker may be damaged); wrong values keep the worker.
    assert_eq!(runner.worker_starts(), 6);
}

#[test]
fn timing_protocol_counts_and_thread_setting() {
    let problem = matmul_problem(3);
    let mut cfg = test_config();
    cfg.threads = 1;
    cfg.timing.min_repeat = 7;
    cfg.timing.max_repeat = 7;
    cfg.timing.cpu_flush = true;
    cfg.timing.cpu_flush_bytes = 1 << 16;
    let mut runner = CpuRunner::new(cfg).unwrap();
    // The kernel reports the OpenMP team size through its output: all ones means one thread.
    let k = CpuKernel::new(
        format!(
            "#include <omp.h>\nvoid k(float *const *args) {{ int t = 0;\n#pragma omp parallel\n{{\n#pragma omp atomic\nt++;\n}}\nfor (int i = 0; i < {}; ++i) args[2][i] = (float)t; }}",
            M * N
        ),
        "k".into(),
    );
    let mut p1 = problem.clone();
    p1.expected = std::sync::Arc::new(vec![1.0; M * N]);
    let r = runner.measure(&p1, &[k.clone(), good("g")]);
    assert_eq!(r[0].as_ref().unwrap().timing.samples_s.len(), 7);
    assert!(
        matches!(&r[1], Err(MeasureError::WrongAnswer { .. })),
        "reference switched"
    );
    let r = runner.measure(&problem, &[good("g")]);
    assert_eq!(r[0].as_ref().unwrap().timing.samples_s.len(), 7);
    assert_eq!(runner.worker_starts(), 1);
}

#[test]
fn invalid_problem_and_missing_worker() {
    let mut problem = matmul_problem(1);
    problem.expected = std::sync::Arc::new(vec![0.0; 3]);
    let mut runner = CpuRunner::new(test_config()).unwrap();
    let r = runner.measure(&problem, &[good("g")]);
    assert!(matches!(&r[0], Err(MeasureError::Invalid(_))));

    let mut cfg = test_config();
    cfg.worker.exe = "/nonexistent/tilegrad-measure-worker".into();
    let mut runner = CpuRunner::new(cfg).unwrap();
    let r = runner.measure(&matmul_problem(1), &[good("g")]);
    assert!(matches!(&r[0], Err(MeasureError::Worker(_))), "{:?}", r[0]);
}

#[test]
fn errors_round_trip_through_json() {
    let e = MeasureError::WrongAnswer {
        kind: WrongKind::OutOfBounds,
        max_abs_err: 0.5,
        max_rel_err: 2.0,
        first_bad_index: -3,
    };
    let s = serde_json::to_string(&e).unwrap();
    assert_eq!(serde_json::from_str::<MeasureError>(&s).unwrap(), e);
}
