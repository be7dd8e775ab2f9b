//! End-to-end tests of the `moodlens` binary: the embedded model's accuracy, train/resume, eval and
//! detect on real data from `../shared/data` (or `$MOODLENS_DATA`). They fail, not skip, when the
//! data is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moodlens"))
}

fn data_dir() -> PathBuf {
    moodlens_common::require_shared_data(&["fer2013/fer2013.csv.gz", "realfaces"])
}

fn fer_csv() -> PathBuf {
    data_dir().join("fer2013/fer2013.csv.gz")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run moodlens");
    if !out.status.success() {
        eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

/// A number recorded in docs/MODEL.md as `<!-- name: 0.xxxx -->`.
fn documented(name: &str) -> f64 {
    documented_text(name).parse().expect("a number")
}

#[test]
fn embedded_model_meets_the_documented_privatetest_numbers() {
    let out = run(bin()
        .args(["eval", "--split", "private-test", "--json", "--data"])
        .arg(fer_csv()));
    assert!(out.status.success());
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("eval --json prints JSON");
    assert_eq!(v["n"].as_u64(), Some(3589));
    let acc = v["accuracy"].as_f64().expect("top-level accuracy");
    let fp = v["ferplus_accuracy"].as_f64().expect("ferplus_accuracy");
    let ece = v["ece"].as_f64().expect("ece");
    for (name, got) in [
        ("privatetest-accuracy", acc),
        ("privatetest-ferplus-accuracy", fp),
    ] {
        let doc = documented(name);
        assert!(
            got >= doc - 0.005,
            "embedded model: {name} {got:.4}, docs/MODEL.md says {doc:.4}"
        );
    }
    let doc_ece = documented("privatetest-ece");
    assert!(
        ece <= doc_ece + 0.005,
        "ECE {ece:.4}, documented {doc_ece:.4}"
    );
    // the model issue's bar: calibrated, and right on one of the two label sets
    assert!(ece <= 0.03, "ECE {ece:.4} > 0.03");
    assert!(
        acc >= 0.70 || fp >= 0.83,
        "PrivateTest {acc:.4} (original) / {fp:.4} (FER+ majority)"
    );
}

/// A text recorded in docs/MODEL.md as `<!-- name: text -->`.
fn documented_text(name: &str) -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/MODEL.md"))
            .expect("docs/MODEL.md");
    let tag = format!("<!-- {name}: ");
    let i = doc
        .find(&tag)
        .unwrap_or_else(|| panic!("marker {name} in docs/MODEL.md"))
        + tag.len();
    doc[i..].split_whitespace().next().unwrap().to_string()
}

/// The original design's committed weights (with the ImageNet backbones of
/// `scripts/imagenet-weights.sh`, which the test command runs) give their documented PrivateTest
/// accuracy: the faithful run's heads, which clear the design issue's bar of 0.50, and the
/// fine-tuned variant (heads plus the backbones' last stages).
#[test]
fn seed_ensemble_weights_reproduce_the_documented_privatetest_accuracy() {
    for (name, bar) in [("seed-ensemble", Some(0.50)), ("seed-ensemble-ft", None)] {
        let weights = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(documented_text(&format!("{name}-weights")));
        assert!(weights.is_file(), "{}", weights.display());
        let out = run(bin()
            .args([
                "eval",
                "--arch",
                "seed-ensemble",
                "--split",
                "private-test",
                "--json",
            ])
            .arg("--weights")
            .arg(&weights)
            .arg("--data")
            .arg(fer_csv()));
        assert!(out.status.success(), "{name}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("eval --json");
        assert_eq!(v["n"].as_u64(), Some(3589));
        let acc = v["accuracy"].as_f64().expect("accuracy");
        let doc = documented(&format!("{name}-privatetest"));
        assert!(
            (acc - doc).abs() <= 0.005,
            "{name} PrivateTest {acc:.4}, docs/MODEL.md says {doc:.4}"
        );
        if let Some(bar) = bar {
            assert!(
                doc >= bar,
                "{name}: documented {doc:.4} is below the design's bar of {bar:.2}"
            );
        }
    }
}

/// Accuracy and macro recall of the whole `detect` path (default settings) over the labelled real
/// photos: the largest face of each photo, its top emotion against the photo's folder; a photo
/// without a face counts as wrong.
#[test]
fn detect_on_real_photos_meets_the_documented_accuracy() {
    let root = data_dir().join("realfaces");
    let mut photos: Vec<(PathBuf, String)> = Vec::new();
    for class in moodlens_common::Emotion::ALL {
        let dir = root.join(class.label());
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            photos.push((e.unwrap().path(), class.label().to_string()));
        }
    }
    photos.sort();
    assert_eq!(photos.len(), 624, "realfaces holds 624 photos");
    let out = run(bin()
        .args(["detect", "--json", "--no-history"])
        .args(photos.iter().map(|(p, _)| p)));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("detect --json");
    let inputs = v["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), photos.len());
    let mut per_class: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (inp, (path, label)) in inputs.iter().zip(&photos) {
        assert_eq!(inp["input"].as_str(), Some(path.to_str().unwrap()));
        let largest = inp["frames"][0]["faces"]
            .as_array()
            .into_iter()
            .flatten()
            .max_by_key(|f| f["bbox"]["w"].as_u64().unwrap() * f["bbox"]["h"].as_u64().unwrap());
        let right = largest.is_some_and(|f| f["top3"][0]["emotion"].as_str() == Some(label));
        let e = per_class.entry(label.as_str()).or_default();
        e.0 += right as usize;
        e.1 += 1;
    }
    let acc = per_class.values().map(|c| c.0).sum::<usize>() as f64 / photos.len() as f64;
    let macro_recall = per_class
        .values()
        .map(|c| c.0 as f64 / c.1 as f64)
        .sum::<f64>()
        / per_class.len() as f64;
    for (name, got) in [
        ("realfaces-accuracy", acc),
        ("realfaces-macro-recall", macro_recall),
    ] {
        let doc = documented(name);
        assert!(
            got >= doc - 0.01,
            "realfaces through detect: {name} {got:.4}, docs/MODEL.md says {doc:.4} ({per_class:?})"
        );
    }
}

/// `train` of the compact network on 20 images per split and class into `out_dir`.
fn quick_train(out_dir: &Path, epochs: u32) -> Command {
    let mut c = bin();
    c.args([
        "train",
        "--arch",
        "compact",
        "--limit",
        "20",
        "--batch-size",
        "32",
    ])
    .arg("--epochs")
    .arg(epochs.to_string())
    .arg("--data")
    .arg(fer_csv())
    .arg("--out")
    .arg(out_dir);
    c
}

#[test]
fn train_writes_checkpoint_plots_history_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let train = |extra: &[&str]| run(quick_train(&out_dir, 2).args(extra));
    let first = train(&[]);
    assert!(first.status.success());
    for f in [
        "checkpoint/model.bpk",
        "checkpoint/optim.bpk",
        "checkpoint/state.json",
        "best.bpk",
        "history.json",
        "curves.png",
        "confusion.png",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    // running again without --resume refuses to overwrite
    let again = train(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    // --resume on a finished run completes without training more
    let resumed = train(&["--resume"]);
    assert!(resumed.status.success());
    let hist: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("history.json")).unwrap())
            .unwrap();
    assert_eq!(hist["history"].as_array().unwrap().len(), 2);
    // --resume needs neither --data nor --limit (the run stored them), says nothing about options
    // that were not given, and --epochs extends the run
    let extended = run(bin()
        .args(["train", "--resume", "--epochs", "3", "--out"])
        .arg(&out_dir));
    assert!(extended.status.success());
    let err = String::from_utf8_lossy(&extended.stderr);
    assert!(!err.contains("ignored"), "{err}");
    assert!(
        err.contains("extending the run from 2 to 3 epochs"),
        "{err}"
    );
    let hist: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("history.json")).unwrap())
            .unwrap();
    assert_eq!(hist["history"].as_array().unwrap().len(), 3);
    assert_eq!(hist["config"]["limit"], 20);
    // options the run stores are named when given with --resume
    let noisy = run(bin()
        .args(["train", "--resume", "--lr", "0.1", "--out"])
        .arg(&out_dir));
    assert!(noisy.status.success());
    assert!(String::from_utf8_lossy(&noisy.stderr).contains("ignored: --lr"));
    // the weights it wrote evaluate
    let ev = run(bin()
        .args([
            "eval",
            "--split",
            "public-test",
            "--json",
            "--limit",
            "10",
            "--weights",
        ])
        .arg(out_dir.join("best.bpk"))
        .arg("--data")
        .arg(fer_csv()));
    assert!(ev.status.success());
    let v: serde_json::Value = serde_json::from_slice(&ev.stdout).unwrap();
    assert!((0.0..=1.0).contains(&v["accuracy"].as_f64().unwrap()));
}

/// Ctrl-C (SIGINT) during `train` ends the run after the current epoch: exit 0, that epoch's
/// checkpoint, the best epoch's card, history and plots. `--resume --epochs <done>` then ends the
/// run for good (it stays ended), and a larger `--epochs` extends it again.
#[test]
fn ctrl_c_ends_a_training_run_after_the_current_epoch() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let mut child = quick_train(&out_dir, 100000)
        .args(["--patience", "100000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start moodlens train");
    let t0 = Instant::now();
    while !out_dir.join("checkpoint/state.json").is_file() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("train ended ({status}) before its first checkpoint");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no checkpoint in 300 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(kill.success());
    let t1 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t1.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            panic!("train still running 120 s after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("stopping at the end of this epoch"), "{err}");
    assert!(err.contains("continue with --resume"), "{err}");
    let history = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("history.json")).unwrap()).unwrap()
    };
    let h = history(&out_dir);
    let done = h["epochs_done"].as_u64().unwrap();
    assert!((1..100000).contains(&done), "{done} epochs");
    assert_eq!(h["history"].as_array().unwrap().len() as u64, done);
    for f in [
        "best.bpk",
        "best.json",
        "curves.png",
        "confusion.png",
        "reliability.png",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    // ending the run: no more epochs, and it stays ended
    let resume = |epochs: u64| {
        run(bin()
            .args([
                "train",
                "--resume",
                "--epochs",
                &epochs.to_string(),
                "--out",
            ])
            .arg(&out_dir))
    };
    let ended = resume(done);
    let err = String::from_utf8_lossy(&ended.stderr);
    assert!(ended.status.success(), "{err}");
    assert!(
        err.contains(&format!("ending the run after its epoch {done}")),
        "{err}"
    );
    assert!(
        !err.contains("train loss") && !err.contains("ignored"),
        "{err}"
    );
    assert_eq!(history(&out_dir)["config"]["epochs"].as_u64(), Some(done));
    let more = resume(done + 1);
    let err = String::from_utf8_lossy(&more.stderr);
    assert!(more.status.success(), "{err}");
    assert!(
        err.contains(&format!("extending the run from {done} to {}", done + 1)),
        "{err}"
    );
    assert_eq!(history(&out_dir)["epochs_done"].as_u64(), Some(done + 1));
}

/// `eval --confusion` (issue 14, bug 7) writes the confusion matrix of the split as a PNG through
/// the binary; the rows' labels are checked in crates/model/src/plot.rs
/// (`confusion_rows_are_labelled_top_to_bottom_in_label_order`).
#[test]
fn eval_writes_the_confusion_matrix_png() {
    use moodlens_vision::opencv::imgcodecs;
    use moodlens_vision::opencv::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("cm.png");
    let out = run(bin()
        .args([
            "eval",
            "--split",
            "private-test",
            "--limit",
            "5",
            "--confusion",
        ])
        .arg(&png)
        .arg("--data")
        .arg(fer_csv()));
    assert!(out.status.success());
    let img = imgcodecs::imread(png.to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    assert!(
        img.cols() >= 600 && img.rows() >= 600,
        "{}x{}",
        img.cols(),
        img.rows()
    );
}

#[test]
fn eval_and_train_reject_bad_data_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "emotion,pixels,Usage\n0,1 2 3,Training\nx,y,z\n").unwrap();
    let eval = bin().args(["eval", "--data"]).arg(&bad).output().unwrap();
    let train = bin()
        .args(["train", "--epochs", "1", "--data"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    for out in [eval, train] {
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("malformed") && err.contains("line 2"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let missing = bin()
        .args(["eval", "--data", "/nonexistent/fer.csv"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such file"));
}

#[test]
fn detect_one_face_photo_no_face_photo_and_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let photo = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir().join("realfaces/happy"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v.remove(0)
    };
    let out = run(bin()
        .args(["detect", "--json"])
        .arg(&photo)
        .arg("--db")
        .arg(&db));
    assert!(out.status.success());
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("detect --json prints JSON");
    let text = v.to_string();
    assert!(text.contains("\"probabilities\""), "{text}");

    // truncated JPEG and a text file named .png: clear error, non-zero exit, no panic
    let bytes = std::fs::read(&photo).unwrap();
    let trunc = dir.path().join("trunc.jpg");
    std::fs::write(&trunc, &bytes[..bytes.len() / 3]).unwrap();
    let txt = dir.path().join("notes.png");
    std::fs::write(&txt, "just text").unwrap();
    for f in [&trunc, &txt] {
        let out = bin()
            .arg("detect")
            .arg(f)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", f.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn recommend_sad_offline_json_has_movies_and_music_with_links() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bin()
        .args(["recommend", "--mood", "sad", "--json", "--db"])
        .arg(dir.path().join("m.db"))
        .env_remove("TMDB_API_KEY")
        .env_remove("SPOTIFY_CLIENT_ID"));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let movies = v["movies"].as_array().unwrap();
    let music = v["music"]
        .as_array()
        .or_else(|| v["tracks"].as_array())
        .expect("music list");
    assert!(movies.len() >= 5 && music.len() >= 5, "{v}");
    assert!(movies.iter().chain(music).all(|i| i["link"]
        .as_str()
        .is_some_and(|l| l.starts_with("https://"))));
}

#[test]
fn about_names_the_data_sources() {
    let out = run(bin().arg("--about"));
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("TMDB") && s.contains("MovieLens") && s.contains("Spotify"),
        "{s}"
    );
}

/// The first photo of a realfaces class folder (sorted).
fn first_photo(class: &str) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir().join("realfaces").join(class))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v.remove(0)
}

/// Faces in `detect --json` output (one input).
/// The keys of one face in every JSON output (`moodlens_vision::FaceReport`; the web tests check
/// `/api/detect` and `/ws` against the same list).
fn face_keys(f: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = f
        .as_object()
        .expect("a face object")
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

const FACE_KEYS: [&str; 9] = [
    "bbox",
    "emotion",
    "face",
    "landmarks",
    "probabilities",
    "score",
    "smoothed",
    "top3",
    "track_id",
];

fn detected_faces(v: &serde_json::Value) -> Vec<serde_json::Value> {
    let text = v.to_string();
    let frames = v
        .pointer("/inputs/0/frames")
        .or_else(|| v.pointer("/0/frames"))
        .or_else(|| v.get("frames"))
        .and_then(|f| f.as_array())
        .unwrap_or_else(|| panic!("no frames in {text}"));
    frames[0]["faces"].as_array().cloned().unwrap_or_default()
}

/// Fresh-machine path (issue 13): both detectors work from the files embedded in the binary (CI
/// runs this with the system's OpenCV data folders hidden); YuNet faces carry a score and five
/// landmarks.
#[test]
fn detect_finds_the_face_with_each_embedded_detector() {
    let dir = tempfile::tempdir().unwrap();
    let photo = first_photo("happy");
    for det in ["yunet", "haar"] {
        let out = run(bin()
            .args(["detect", "--json", "--detector", det])
            .arg(&photo)
            .arg("--db")
            .arg(dir.path().join("m.db")));
        assert!(out.status.success(), "{det}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let faces = detected_faces(&v);
        assert_eq!(faces.len(), 1, "{det}: {v}");
        if det == "yunet" {
            assert!(faces[0]["score"].as_f64().unwrap() > 0.5, "{v}");
            assert_eq!(faces[0]["landmarks"].as_array().unwrap().len(), 5, "{v}");
        } else {
            assert!(faces[0].get("landmarks").is_none(), "{v}");
        }
    }
}

/// `live --input video --headless --json` finds the face in a video made from a real photo.
#[test]
fn live_headless_on_a_video_finds_the_face() {
    use moodlens_vision::testvideo::{compose_video, Actor};
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("one.avi");
    compose_video(
        &video,
        (640, 480),
        25.0,
        20,
        &[Actor {
            photo: first_photo("happy"),
            side: 220,
            start: (200, 120),
            velocity: (2, 0),
            brightness: 0.0,
            from: 0,
            until: 20,
        }],
    )
    .unwrap();
    let out = run(bin()
        .args(["live", "--headless", "--json", "--no-recommend", "--input"])
        .arg(&video)
        .arg("--db")
        .arg(dir.path().join("m.db")));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // JSON Lines: every line parses
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let with_face = lines
        .iter()
        .filter(|v| v["faces"].as_array().is_some_and(|f| !f.is_empty()))
        .count();
    assert!(
        with_face >= 15,
        "{with_face} frames with a face of 20:\n{text}"
    );

    // with recommendations, --json stays JSON Lines: the last line carries the summary and the
    // recommendations, and the session is in the history
    let db = dir.path().join("r.db");
    let out = run(bin()
        .args(["live", "--headless", "--json", "--input"])
        .arg(&video)
        .arg("--db")
        .arg(&db));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let last = lines.last().expect("lines");
    let face = lines
        .iter()
        .find_map(|l| l["faces"].as_array().and_then(|f| f.first()))
        .expect("a frame with a face");
    assert_eq!(face_keys(face), FACE_KEYS);
    assert_eq!(last["summary"]["final_mood"], "happy", "{last}");
    assert_eq!(last["recommendations"]["mood"], "happy", "{last}");
    assert!(!last["recommendations"]["movies"]
        .as_array()
        .unwrap()
        .is_empty());
    let h = run(bin().args(["history", "--json", "--db"]).arg(&db));
    let h: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    assert_eq!(h.as_array().map(|a| a.len()), Some(1), "{h}");
}

/// `detect --csv -` prints only CSV (the recommendations are still made and recorded), and
/// `detect --json` carries the recommendations in its one document and records the session.
#[test]
fn detect_csv_and_json_outputs_are_machine_readable_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let photo = first_photo("happy");
    let out = run(bin()
        .args(["detect", "--csv", "-"])
        .arg(&photo)
        .arg("--db")
        .arg(&db));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one face:\n{text}");
    let columns = lines[0].split(',').count();
    assert!(
        lines.iter().all(|l| l.split(',').count() == columns),
        "{text}"
    );

    let out = run(bin()
        .args(["detect", "--json"])
        .arg(&photo)
        .arg("--db")
        .arg(&db));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["inputs"][0]["summary"]["final_mood"], "happy");
    assert_eq!(face_keys(&detected_faces(&v)[0]), FACE_KEYS);
    assert_eq!(v["recommendations"]["mood"], "happy", "{v}");
    assert!(!v["recommendations"]["music"].as_array().unwrap().is_empty());

    let h = run(bin().args(["history", "--json", "--db"]).arg(&db));
    let h: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    assert_eq!(
        h.as_array().map(|a| a.len()),
        Some(2),
        "both runs recorded: {h}"
    );
}

/// `feedback` takes a film's title as the lists print it ("Title (Year)"), and refuses a title that
/// names several items instead of picking one.
#[test]
fn feedback_accepts_printed_titles_and_refuses_ambiguous_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let out = run(bin()
        .args(["feedback", "Forrest Gump (1994)", "--like", "--db"])
        .arg(&db));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Forrest Gump"));
    // two films are called Aladdin (1992, 2019)
    let out = bin()
        .args(["feedback", "Aladdin", "--dislike", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1992") && err.contains("2019"), "{err}");
    let out = run(bin()
        .args(["feedback", "Aladdin (2019)", "--dislike", "--db"])
        .arg(&db));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Aladdin (2019)"));
}

/// A reader that stops early (`moodlens history --json | head -1`) ends the command quietly with 0:
/// here the reading end is closed before the command writes anything, so its first write fails.
#[test]
fn closed_stdout_is_not_an_error() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    assert!(run(bin()
        .args(["recommend", "--offline", "--mood", "happy", "--db"])
        .arg(&db))
    .status
    .success());
    let cmds: [&[&str]; 3] = [
        &["history", "--json", "--db"],
        &["recommend", "--offline", "--mood", "sad", "--json", "--db"],
        &["recommend", "--offline", "--mood", "sad", "--db"],
    ];
    for args in cmds {
        let mut child = bin()
            .args(args)
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// Photos of `class` (sorted) that the embedded model, through `detect`, reads as `class`.
fn photos_read_as(class: &str, n: usize, db: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir().join("realfaces").join(class))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    let mut out = Vec::new();
    for chunk in v.chunks(12) {
        let o = run(bin()
            .args(["detect", "--json", "--no-recommend", "--db"])
            .arg(db)
            .args(chunk));
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for (k, input) in j["inputs"].as_array().unwrap().iter().enumerate() {
            let faces = input["frames"][0]["faces"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if faces.len() == 1 && faces[0]["top3"][0]["emotion"] == class {
                out.push(chunk[k].clone());
            }
        }
        if out.len() >= n {
            out.truncate(n);
            return out;
        }
    }
    panic!("fewer than {n} realfaces/{class} photos read as {class}");
}

/// Three people in one photo (happy, sad, afraid faces of the shared photos side by side): each
/// person's mood is reported and the group list (least misery, the default) has no Horror.
#[test]
fn three_people_get_their_own_moods_and_a_least_misery_list() {
    use moodlens_vision::opencv::core::{Mat, Rect, Scalar, Size, CV_8UC3};
    use moodlens_vision::opencv::prelude::*;
    use moodlens_vision::opencv::{imgcodecs, imgproc};
    use moodlens_vision::source::{load_image, ImageLimits};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let people = [
        photos_read_as("happy", 1, &db).remove(0),
        photos_read_as("sad", 1, &db).remove(0),
        photos_read_as("fear", 1, &db).remove(0),
    ];
    let mut canvas =
        Mat::new_rows_cols_with_default(400, 1200, CV_8UC3, Scalar::all(120.0)).unwrap();
    for (k, p) in people.iter().enumerate() {
        let img = load_image(p, &ImageLimits::default()).unwrap();
        let mut small = Mat::default();
        imgproc::resize(
            &img,
            &mut small,
            Size::new(350, 350),
            0.0,
            0.0,
            imgproc::INTER_AREA,
        )
        .unwrap();
        let mut roi = canvas
            .roi_mut(Rect::new(25 + 400 * k as i32, 25, 350, 350))
            .unwrap();
        small.copy_to(&mut roi).unwrap();
    }
    let group = dir.path().join("group.png");
    imgcodecs::imwrite_def(group.to_str().unwrap(), &canvas).unwrap();
    let out = run(bin()
        .args(["detect", "--offline"])
        .arg(&group)
        .arg("--db")
        .arg(&db));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("People (3):"), "{text}");
    for (k, mood) in ["happy", "sad", "fear"].iter().enumerate() {
        assert!(
            text.contains(&format!("person {}: {mood}", k + 1)),
            "person {} should be {mood}:\n{text}",
            k + 1
        );
    }
    assert!(text.contains("least-misery"), "{text}");
    let movies = text
        .split("\nMovies")
        .nth(1)
        .and_then(|t| t.split("\nMusic:").next())
        .expect("a movie list");
    assert!(
        movies.lines().filter(|l| l.contains("http")).count() >= 5,
        "{text}"
    );
    assert!(!movies.contains("Horror"), "{text}");
}

/// `--annotate` with `--landmarks` draws the five YuNet landmarks on top of the box and labels.
#[test]
fn annotate_with_landmarks_draws_them() {
    let dir = tempfile::tempdir().unwrap();
    let photo = first_photo("happy");
    let mut pixels = Vec::new();
    for (name, extra) in [("plain.png", None), ("marks.png", Some("--landmarks"))] {
        let out_png = dir.path().join(name);
        let out = run(bin()
            .args(["detect", "--no-recommend", "--annotate"])
            .arg(&out_png)
            .args(extra)
            .arg(&photo)
            .arg("--db")
            .arg(dir.path().join("m.db")));
        assert!(out.status.success());
        pixels.push(std::fs::read(&out_png).unwrap());
    }
    assert_ne!(pixels[0], pixels[1], "--landmarks changed nothing");
}

/// Out-of-range options, an unknown strategy, end of input at the mood prompt and an empty history
/// plot are clear errors with a non-zero exit.
#[test]
fn bad_options_and_empty_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let photo = first_photo("happy");
    for (args, needle) in [
        (vec!["--window", "0"], "window"),
        (vec!["--scale-factor", "1.0"], "pyramid step"),
        (vec!["--min-face", "5"], "shorter side"),
        (vec!["--score-threshold", "1.5"], "score"),
    ] {
        let out = bin()
            .arg("detect")
            .args(&args)
            .arg(&photo)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = bin()
        .args([
            "recommend",
            "--offline",
            "--strategy",
            "foo",
            "--mood",
            "sad",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("strategy") && !err.contains("invalid mood"),
        "{err}"
    );
    // Ctrl-D / </dev/null at the mood prompt
    let out = bin()
        .args(["recommend", "--offline", "--db"])
        .arg(&db)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no mood chosen"),
        "{err}"
    );
    // a plot of an empty history
    let png = dir.path().join("h.png");
    let out = bin()
        .args(["history", "--plot"])
        .arg(&png)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("nothing to plot"),
        "{err}"
    );
    assert!(!png.exists());
}

/// `moodlens history`: one entry per mood reading (re-ranks of a named session's reading update
/// it), `--export` to JSON and CSV, `--delete ID` and `--clear`, through the binary.
#[test]
fn history_export_delete_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let recommend = |mood: &str, strategy: &str| {
        let out = run(bin()
            .args([
                "recommend",
                "--offline",
                "--session",
                "tab-1",
                "--mood",
                mood,
            ])
            .args(["--strategy", strategy, "--db"])
            .arg(&db));
        assert!(out.status.success());
    };
    // happy, re-ranked with two other strategies, then sad: two readings
    recommend("happy", "match");
    recommend("happy", "calm");
    recommend("happy", "uplift");
    recommend("sad", "comfort");
    let history_json = || {
        let out = run(bin().args(["history", "--json", "--db"]).arg(&db));
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let h = history_json();
    let entries = h.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{h}");
    assert_eq!(entries[0]["mood"], "happy");
    assert_eq!(
        entries[0]["strategy"], "uplift",
        "the latest re-rank is shown"
    );
    assert_eq!(entries[1]["mood"], "sad");
    let text = run(bin().arg("history").arg("--db").arg(&db));
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert_eq!(text.lines().count(), 2, "{text}");
    let first_id = entries[0]["id"].as_i64().unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .trim_start()
            .starts_with(&first_id.to_string()),
        "the list shows the ids --delete takes: {text}"
    );

    // export: JSON (the same entries) and CSV (a header and one row per entry)
    let json_path = dir.path().join("h.json");
    let out = run(bin()
        .args(["history", "--export"])
        .arg(&json_path)
        .arg("--db")
        .arg(&db));
    assert!(out.status.success());
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(exported, h);
    let csv_path = dir.path().join("h.CSV");
    assert!(run(bin()
        .args(["history", "--export"])
        .arg(&csv_path)
        .arg("--db")
        .arg(&db))
    .status
    .success());
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,time,time_utc,source,mood,strategy"));
    assert!(lines[0].ends_with("p_neutral,recommended"), "{}", lines[0]);
    assert!(lines[1].starts_with(&format!("{first_id},")) && lines[1].contains(",happy,uplift,"));
    let out = bin()
        .args(["history", "--export"])
        .arg(dir.path().join("h.txt"))
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".json or .csv"));

    // delete one entry (every re-rank of it), then a missing id is an error
    let out = run(bin()
        .args(["history", "--delete", &first_id.to_string(), "--db"])
        .arg(&db));
    assert!(out.status.success());
    let h = history_json();
    assert_eq!(h.as_array().unwrap().len(), 1);
    assert_eq!(h[0]["mood"], "sad");
    let out = bin()
        .args(["history", "--delete", &first_id.to_string(), "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no history entry"));

    // clear: nothing left; likes stay
    let title = h[0]["items"][0]["key"].as_str().unwrap().to_string();
    assert!(
        run(bin().args(["feedback", &title, "--like", "--db"]).arg(&db))
            .status
            .success()
    );
    let out = run(bin().args(["history", "--clear", "--db"]).arg(&db));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Deleted 1 history entry"));
    assert!(history_json().as_array().unwrap().is_empty());
    // the like is still there: liking again by key works only through the stored feedback's
    // catalog lookup, so check the database directly
    let store = moodlens_recommend::store::Store::open(&db).unwrap();
    assert_eq!(store.feedback().unwrap().len(), 1);
}

/// `--annotate`: two inputs with the same file name do not overwrite each other; a missing folder,
/// an unknown extension and an image name for a video are clear errors, not OpenCV's.
#[test]
fn annotate_targets_never_overwrite_and_bad_ones_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let photo = first_photo("happy");
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::copy(&photo, dir.path().join(sub).join("x.jpg")).unwrap();
    }
    let out_dir = dir.path().join("out");
    let out = run(bin()
        .args(["detect", "--no-recommend", "--annotate"])
        .arg(&out_dir)
        .arg(dir.path().join("a/x.jpg"))
        .arg(dir.path().join("b/x.jpg")));
    assert!(out.status.success());
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["x-2.annotated.png", "x.annotated.png"]);

    let video = dir.path().join("v.avi");
    assert!(run(bin()
        .args(["bench", "--frames", "5", "--make-video"])
        .arg(&video))
    .status
    .success());
    for (input, target, says) in [
        (&photo, dir.path().join("missing/o.png"), "does not exist"),
        (&photo, dir.path().join("o.xyz"), "cannot write 'xyz' files"),
        (&video, dir.path().join("v.png"), "the input is a video"),
    ] {
        let out = bin()
            .args(["detect", "--no-recommend", "--annotate"])
            .arg(&target)
            .arg(input)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{}: {err}", target.display());
        assert!(!err.contains("OpenCV("), "{err}");
        assert!(!target.exists());
    }
}

/// Errors are said once and briefly: a bad input is one line on stderr (not also on stdout, not
/// with its path twice), a weights file of another architecture is named as such instead of
/// listing every tensor, and logs written to a pipe carry no colour codes.
#[test]
fn errors_are_said_once_briefly_and_without_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("x.jpg");
    std::fs::write(&bad, "not an image").unwrap();
    let out = bin()
        .args(["detect", "--no-recommend"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let name = bad.display().to_string();
    assert_eq!(err.matches(&name).count(), 1, "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not an image"));
    assert!(!err.contains('\u{1b}'), "colour codes in a pipe: {err:?}");

    // compact weights without their card, read as another architecture
    let weights = dir.path().join("w.bpk");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/weights/shipped.bpk"),
        &weights,
    )
    .unwrap();
    let out = bin()
        .args([
            "detect",
            "--no-recommend",
            "--arch",
            "mobilenetv2",
            "--weights",
        ])
        .arg(&weights)
        .arg(first_photo("happy"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds compact weights, not mobilenetv2"),
        "{err}"
    );
    assert!(err.len() < 600, "{} bytes: {err}", err.len());
}

#[test]
fn export_onnx_writes_the_embedded_model_that_onnx_runtime_runs_like_burn() {
    use moodlens_model::engine::OrtRunner;
    use moodlens_model::onnx::PROBABILITIES_NAME;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moodlens.onnx");
    let out = run(bin().args(["export", "--onnx"]).arg(&path));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("flip TTA"));
    let bytes = std::fs::read(&path).unwrap();
    let mut runner = OrtRunner::new(&bytes).expect("ONNX Runtime loads the file");
    let face: Vec<u8> = (0..48 * 48).map(|i| ((i * 13) % 251) as u8).collect();
    let px: Vec<f32> = face.iter().map(|&p| p as f32).collect();
    let got = runner.run_output(&px, 1, PROBABILITIES_NAME).unwrap();
    let mut burn = moodlens_model::Classifier::embedded().unwrap();
    burn.set_engine(moodlens_model::engine::EngineKind::Burn);
    burn.tta = false;
    let want = burn.predict(&[&face]).unwrap();
    for (a, b) in got.iter().zip(want[0].iter()) {
        assert!((a - b).abs() < 1e-4, "{got:?} vs {want:?}");
    }
    // an unwritable destination is an error, not a panic
    let out = run(bin().args(["export", "--onnx", "/nonexistent/dir/m.onnx"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dir"));
}

#[test]
fn engines_agree_and_a_missing_onnx_runtime_is_explained() {
    let photo = first_photo("happy");
    let happy = |engine: &str, env: Option<(&str, &str)>| -> (bool, f64, String) {
        let mut c = bin();
        c.args(["detect", "--json", "--engine", engine]).arg(&photo);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        if !out.status.success() {
            return (false, f64::NAN, err);
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let faces = detected_faces(&v);
        (
            true,
            faces[0]["probabilities"]["happy"].as_f64().unwrap(),
            err,
        )
    };
    let (ok, burn, _) = happy("burn", None);
    assert!(ok);
    for engine in ["ort", "opencv", "auto"] {
        let (ok, p, err) = happy(engine, None);
        assert!(ok, "{engine}: {err}");
        assert!((p - burn).abs() < 1e-4, "{engine}: {p} vs burn {burn}");
    }
    let missing = Some(("MOODLENS_ORT_LIB", "/nonexistent/libonnxruntime.so"));
    let (ok, _, err) = happy("ort", missing);
    assert!(!ok);
    assert!(err.contains("scripts/onnxruntime.sh"), "{err}");
    let (ok, p, err) = happy("auto", missing);
    assert!(ok, "{err}");
    assert!((p - burn).abs() < 1e-6);
    assert!(err.contains("classifying with burn"), "{err}");
}

#[test]
fn bench_classifier_times_every_engine_in_one_run() {
    let out = run(bin().args([
        "bench",
        "--classifier",
        "--json",
        "--no-tta",
        "--iterations",
        "3",
    ]));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    for engine in ["burn", "ort", "opencv"] {
        for batch in [1, 8] {
            assert!(
                rows.iter()
                    .any(|r| r["engine"] == engine && r["batch"] == batch),
                "{engine} batch {batch} missing: {v}"
            );
        }
    }
}

/// The windowed `live` path (highgui imshow + waitKey) on Qt's offscreen platform, so it runs on
/// machines without a display; without any display it is a clear error that names --headless.
#[test]
fn live_window_shows_every_frame_offscreen_and_needs_a_display() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("v.avi");
    let made = run(bin()
        .args(["bench", "--make-video"])
        .arg(&video)
        .args(["--frames", "12"]));
    assert!(made.status.success());
    let out = run(bin()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("QT_QPA_PLATFORM", "offscreen")
        .args(["live", "--no-recommend", "--max-frames", "10", "--input"])
        .arg(&video)
        .arg("--annotate")
        .arg(dir.path().join("out.avi"))
        .arg("--db")
        .arg(dir.path().join("m.db")));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("session: 10 frames"),
        "--max-frames stops the session: {text}"
    );
    assert!(text.contains("final mood"), "{text}");
    assert!(dir.path().join("out.avi").is_file());
    let out = run(bin()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("QT_QPA_PLATFORM")
        .args(["live", "--no-recommend", "--input"])
        .arg(&video));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no display") && err.contains("--headless"),
        "{err}"
    );
}
