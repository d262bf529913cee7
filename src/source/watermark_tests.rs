use super::*;

fn done(id: u64, start: i64, end: i64) -> AcctJob {
    AcctJob {
        id,
        state: "COMPLETED".into(),
        ran: true,
        start: Some(start),
        end: Some(end),
        ..AcctJob::default()
    }
}

fn running(id: u64, start: i64) -> AcctJob {
    AcctJob {
        id,
        state: "RUNNING".into(),
        ran: true,
        start: Some(start),
        ..AcctJob::default()
    }
}

fn ids(jobs: &[AcctJob]) -> Vec<u64> {
    jobs.iter().map(|j| j.id).collect()
}

#[test]
fn each_job_once_across_the_boundary_second() {
    let mut w = Watermark::new(100, 3600);
    let win = w.window(110, Some(0));
    assert_eq!((win.from, win.to, win.capped), (100, 110, false));
    // 2 ended at 110 (the window's last second), 3 ended before the window.
    let got = w.advance(
        win,
        vec![done(1, 101, 105), done(2, 109, 110), done(3, 50, 99)],
    );
    assert_eq!(ids(&got.finished), vec![1, 2]);
    assert_eq!(ids(&got.started), vec![1, 2]);
    assert_eq!(got.watermark, 110);
    // Next read starts at 110 (inclusive): 2 comes back and is dropped; 4 ended in
    // the same second but reached slurmdbd after the first read: it is new.
    let win = w.window(120, Some(0));
    assert_eq!((win.from, win.to), (110, 120));
    let got = w.advance(
        win,
        vec![done(2, 109, 110), done(4, 110, 110), running(5, 115)],
    );
    assert_eq!(ids(&got.finished), vec![4]);
    assert_eq!(ids(&got.started), vec![4, 5]);
    // A running job is returned by every read; it started once.
    let win = w.window(130, Some(0));
    let got = w.advance(win, vec![running(5, 115), done(6, 115, 130)]);
    assert_eq!(ids(&got.started), Vec::<u64>::new());
    assert_eq!(ids(&got.finished), vec![6]);
}

#[test]
fn a_failed_read_keeps_the_mark() {
    let mut w = Watermark::new(100, 3600);
    let first = w.window(110, Some(0));
    // The read failed: advance is not called. The next window starts where the
    // first did and covers both.
    let again = w.window(150, Some(0));
    assert_eq!(again.from, first.from);
    assert_eq!(again.to, 150);
    let got = w.advance(again, vec![done(1, 101, 105), done(2, 140, 145)]);
    assert_eq!(ids(&got.finished), vec![1, 2]);
}

#[test]
fn a_busy_dbd_queue_holds_the_window_end() {
    let mut w = Watermark::new(100, 3600);
    let win = w.window(110, Some(0));
    w.advance(win, vec![]);
    // slurmdbd down: slurmctld queues records; reads succeed (slurmdbd back) but
    // the queue is not drained yet: nothing past 110 is trusted.
    let win = w.window(200, Some(12));
    assert_eq!((win.from, win.to), (110, 110));
    let got = w.advance(win, vec![done(7, 100, 150)]);
    assert!(got.finished.is_empty(), "ended after the window");
    // Drained: the jobs that ended meanwhile, with their real end times, are read.
    let win = w.window(210, Some(0));
    assert_eq!((win.from, win.to), (110, 210));
    let got = w.advance(win, vec![done(7, 100, 150)]);
    assert_eq!(ids(&got.finished), vec![7]);
    assert!(got.started.is_empty(), "started before the mark");
}

#[test]
fn a_long_backlog_is_read_in_slices() {
    let mut w = Watermark::new(0, 100);
    let win = w.window(250, None);
    assert_eq!((win.from, win.to, win.capped), (0, 100, true));
    let got = w.advance(win, vec![done(1, 10, 50), done(2, 10, 150)]);
    assert_eq!(ids(&got.finished), vec![1]);
    assert!(got.catching_up);
    let win = w.window(260, None);
    assert_eq!((win.from, win.to, win.capped), (100, 200, true));
    let got = w.advance(win, vec![done(2, 10, 150)]);
    assert_eq!(ids(&got.finished), vec![2]);
    let win = w.window(270, None);
    assert_eq!((win.from, win.to, win.capped), (200, 270, false));
}

#[test]
fn not_final_and_never_started_jobs() {
    let mut w = Watermark::new(100, 3600);
    let win = w.window(200, Some(0));
    let requeued = AcctJob {
        state: "REQUEUED".into(),
        ..done(1, 110, 120)
    };
    let cancelled_pending = AcctJob {
        state: "CANCELLED".into(),
        ran: false,
        ..done(2, 130, 130)
    };
    let got = w.advance(win, vec![requeued, cancelled_pending]);
    assert_eq!(ids(&got.finished), vec![2], "requeued is not final");
    assert_eq!(ids(&got.started), vec![1], "the cancelled job never ran");
}

#[test]
fn an_empty_window_keeps_the_ids_at_the_mark() {
    let mut w = Watermark::new(100, 3600);
    let win = w.window(110, Some(0));
    w.advance(win, vec![done(1, 110, 110)]);
    // slurmctld's clock did not move (or the queue is busy): the window is 110..=110.
    let win = w.window(110, Some(0));
    assert_eq!((win.from, win.to), (110, 110));
    let got = w.advance(win, vec![done(1, 110, 110), done(2, 110, 110)]);
    assert_eq!(ids(&got.finished), vec![2]);
    let win = w.window(110, Some(0));
    let got = w.advance(win, vec![done(1, 110, 110), done(2, 110, 110)]);
    assert!(got.finished.is_empty());
}
