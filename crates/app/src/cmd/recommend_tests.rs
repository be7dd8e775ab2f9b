//! The recommend-side commands (recommend, feedback, history, catalog, the end-of-session
//! summary) driven through their clap options and run functions.
use super::args::SummaryArgs;
use super::catalog::CatalogArgs;
use super::feedback::FeedbackArgs;
use super::history::HistoryArgs;
use super::recommend::{choose_mood, recommend_for_session, RecommendArgs};
use super::{catalog, feedback, history, recommend};
use clap::Parser;
use moodlens_recommend::engine::Aggregation;
use moodlens_recommend::mood::Mood;
use moodlens_recommend::store::format_time;
use moodlens_recommend::Store;
use moodlens_session::Emotion;

#[derive(Parser, Debug)]
struct TestCli {
    #[command(subcommand)]
    cmd: TestCmd,
}

#[derive(clap::Subcommand, Debug)]
enum TestCmd {
    Recommend(RecommendArgs),
    Feedback(FeedbackArgs),
    History(HistoryArgs),
    Catalog(CatalogArgs),
    Summary(SummaryArgs),
}

#[test]
fn argument_definitions_are_consistent() {
    use clap::CommandFactory;
    TestCli::command().debug_assert();
    let TestCmd::Summary(s) = parse(&["summary", "--group", "average", "--shuffle"]) else {
        panic!()
    };
    assert_eq!(s.opts.group, Some(Aggregation::Average));
    assert!(s.opts.shuffle);
}

fn parse(args: &[&str]) -> TestCmd {
    TestCli::try_parse_from(std::iter::once("moodlens").chain(args.iter().copied()))
        .unwrap()
        .cmd
}

fn recommend_args(args: &[&str]) -> RecommendArgs {
    let TestCmd::Recommend(a) = parse(args) else {
        panic!("not a recommend command: {args:?}")
    };
    a
}

/// What a command printed to `out` (it must succeed).
fn printed(run: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<()>) -> String {
    let mut out = Vec::new();
    run(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// What `run_recommend` printed, with `input` on stdin.
fn recommend_text(a: &RecommendArgs, input: &[u8]) -> String {
    printed(|out| recommend::run(a, &mut &input[..], out, &mut Vec::new()))
}

fn recommend_json(a: &RecommendArgs) -> serde_json::Value {
    serde_json::from_str(&recommend_text(a, b"")).unwrap()
}

#[test]
fn manual_mood_selection_asks_again_and_handles_eof() {
    let mut input: &[u8] = b"9\nfoo\n\n4\n";
    let mut out = Vec::new();
    let e = choose_mood(&mut input, &mut out).unwrap();
    assert_eq!(e, Some(Emotion::Happy));
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("1. angry") && text.contains("7. neutral"));
    assert_eq!(text.matches("not one of the choices").count(), 2);
    let mut input: &[u8] = b"sad\n";
    assert_eq!(
        choose_mood(&mut input, &mut Vec::new()).unwrap(),
        Some(Emotion::Sad)
    );
    let mut input: &[u8] = b"0\n";
    assert_eq!(
        choose_mood(&mut input, &mut Vec::new()).unwrap(),
        None,
        "EOF after invalid"
    );
    let mut input: &[u8] = b"";
    assert_eq!(choose_mood(&mut input, &mut Vec::new()).unwrap(), None);
}

fn tmp_db(dir: &tempfile::TempDir) -> String {
    dir.path().join("m.db").display().to_string()
}

#[test]
fn recommend_json_offline_then_feedback_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = tmp_db(&dir);
    let a = recommend_args(&[
        "recommend",
        "--mood",
        "sad",
        "--json",
        "--offline",
        "--db",
        &db,
    ]);
    let v = recommend_json(&a);
    assert_eq!(v["mood"], "sad");
    assert_eq!(v["strategy"], "comfort", "sad's default strategy");
    assert!(v["session"].as_str().unwrap().starts_with("auto:"));
    for it in v["movies"].as_array().unwrap() {
        assert!(
            it["reason"].as_str().unwrap().ends_with("comfort for sad"),
            "{it}"
        );
    }
    assert!(v["movies"].as_array().unwrap().len() >= 5);
    assert!(v["music"].as_array().unwrap().len() >= 5);
    for it in v["movies"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v["music"].as_array().unwrap())
    {
        assert!(it["link"].as_str().unwrap().starts_with("https://"));
    }
    let title = v["movies"][0]["title"].as_str().unwrap().to_string();

    // piped manual selection, text output
    let a = recommend_args(&[
        "recommend",
        "--offline",
        "--db",
        &db,
        "--strategy",
        "uplift",
        "--seed",
        "3",
    ]);
    let text = recommend_text(&a, b"x\n5\n");
    assert!(
        text.contains("Mood: sad") && text.contains("strategy: uplift"),
        "{text}"
    );
    assert!(text.contains("Movies (") && text.contains("Music:"));
    // EOF at the prompt: an error (non-zero exit), nothing recorded
    let mut prompt = Vec::new();
    let e = recommend::run(&a, &mut &b""[..], &mut Vec::new(), &mut prompt).unwrap_err();
    assert!(e.to_string().contains("no mood chosen"), "{e}");

    let TestCmd::Feedback(f) = parse(&["feedback", &title, "--dislike", "--db", &db]) else {
        panic!()
    };
    assert!(printed(|out| feedback::run(&f, out)).contains("will not be shown again"));
    assert!(
        TestCli::try_parse_from(["moodlens", "feedback", "x"]).is_err(),
        "needs --like or --dislike"
    );
    assert!(TestCli::try_parse_from(["moodlens", "feedback", "x", "--like", "--dislike"]).is_err());

    let png = dir.path().join("h.png");
    let TestCmd::History(h) = parse(&[
        "history",
        "--json",
        "--db",
        &db,
        "--plot",
        png.to_str().unwrap(),
    ]) else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_str(&printed(|out| history::run(&h, out))).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["mood"], "sad");
    assert_eq!(v[0]["source"], "manual");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let TestCmd::History(h) = parse(&["history", "--db", &db]) else {
        panic!()
    };
    assert_eq!(printed(|out| history::run(&h, out)).lines().count(), 2);
}

#[test]
fn probabilities_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let db = tmp_db(&dir);
    let a = recommend_args(&[
        "recommend",
        "--probabilities",
        "0.1,0,0.6,0.1,0.1,0.1,0",
        "--json",
        "--offline",
        "--no-history",
        "--db",
        &db,
    ]);
    let v = recommend_json(&a);
    assert_eq!(v["mood"], "fear");
    assert!(
        v.get("session_id").is_none(),
        "--no-history records nothing"
    );
    let a = recommend_args(&[
        "recommend",
        "--probabilities",
        "1,2",
        "--offline",
        "--db",
        &db,
    ]);
    assert!(recommend::run(&a, &mut &b""[..], &mut Vec::new(), &mut Vec::new()).is_err());
    assert!(TestCli::try_parse_from(["moodlens", "recommend", "--mood", "bored"]).is_err());
    assert!(TestCli::try_parse_from(["moodlens", "recommend", "--strategy", "loud"]).is_err());
}

#[test]
fn session_summary_records_the_source_and_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = SummaryArgs::default();
    args.opts.offline = true;
    args.opts.store.db = Some(dir.path().join("s.db"));
    let p = [0.05, 0.0, 0.05, 0.7, 0.1, 0.05, 0.05];
    let p = moodlens_session::SessionMood {
        mood: Mood::from_probabilities(&p).unwrap(),
        people: Vec::new(),
    };
    let mut out = Vec::new();
    let rec = recommend_for_session(&p, "camera", &args, false, &mut out)
        .unwrap()
        .unwrap();
    assert_eq!(rec.mood, "happy");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Detected mood: happy"), "{text}");
    let s = Store::open(&dir.path().join("s.db")).unwrap();
    let h = s.requests(None).unwrap();
    assert_eq!(h[0].source, "camera");
    assert!((h[0].probabilities[3] - 0.7).abs() < 1e-9);
    args.no_recommend = true;
    let mut out = Vec::new();
    assert!(recommend_for_session(&p, "video", &args, false, &mut out)
        .unwrap()
        .is_none());
    assert!(out.is_empty());
}

#[test]
fn group_shuffle_session_and_reasons_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = tmp_db(&dir);
    // three people: each person's mood, one least-misery list (the default)
    let a = recommend_args(&[
        "recommend",
        "--person",
        "happy",
        "--person",
        "sad",
        "--person",
        "0.05,0.05,0.6,0.1,0.1,0.05,0.05",
        "--movies",
        "8",
        "--json",
        "--offline",
        "--db",
        &db,
    ]);
    assert_eq!(a.people.len(), 3);
    let v = recommend_json(&a);
    assert_eq!(v["aggregation"], "least-misery");
    let moods: Vec<&str> = v["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["mood"].as_str().unwrap())
        .collect();
    assert_eq!(moods, ["happy", "sad", "fear"]);
    for m in v["movies"].as_array().unwrap() {
        assert!(!m["genres"].to_string().contains("Horror"), "{m}");
        assert!(m["reason"].as_str().unwrap().contains("least misery"));
    }
    let a = recommend_args(&[
        "recommend",
        "--person",
        "happy",
        "--person",
        "sad",
        "--group",
        "average",
        "--offline",
        "--db",
        &db,
    ]);
    assert_eq!(a.opts.group, Some(Aggregation::Average));
    let text = recommend_text(&a, b"");
    assert!(
        text.contains("person 1: happy") && text.contains("person 2: sad"),
        "{text}"
    );
    assert!(text.contains("by average"), "{text}");
    assert!(TestCli::try_parse_from(["moodlens", "recommend", "--group", "median"]).is_err());
    assert!(TestCli::try_parse_from(["moodlens", "recommend", "--person", "bored"]).is_err());
    assert!(TestCli::try_parse_from([
        "moodlens",
        "recommend",
        "--mood",
        "sad",
        "--person",
        "happy"
    ])
    .is_err());

    // the same list within a session, new picks with --shuffle
    let args = |extra: &[&str]| {
        let mut v = vec![
            "recommend",
            "--mood",
            "happy",
            "--json",
            "--offline",
            "--db",
            &db,
        ];
        v.extend_from_slice(extra);
        recommend_args(&v)
    };
    let keys = |v: &serde_json::Value| {
        v["movies"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["music"].as_array().unwrap())
            .map(|i| i["key"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first = recommend_json(&args(&["--session", "tab-1"]));
    let calm = recommend_json(&args(&["--session", "tab-1", "--strategy", "calm"]));
    assert_eq!(calm["strategy"], "calm");
    let again = recommend_json(&args(&["--session", "tab-1"]));
    assert_eq!(keys(&first), keys(&again));
    let shuffled = recommend_json(&args(&["--session", "tab-1", "--shuffle"]));
    assert_eq!(shuffled["shuffle"], 1);
    assert!(keys(&shuffled).iter().all(|k| !keys(&first).contains(k)));
    // text: reasons under every item
    let text = recommend_text(
        &recommend_args(&["recommend", "--mood", "fear", "--offline", "--db", &db]),
        b"",
    );
    assert!(text.contains("strategy: calm"), "{text}");
    assert_eq!(text.matches("why: ").count(), 10, "{text}");
    assert!(text.contains("toward calm"));
    assert!(text.contains("Left out: "));
    assert!(
        recommend_args(&["recommend", "--allow-explicit"])
            .opts
            .allow_explicit
    );
}

#[test]
fn group_session_summary_reports_each_person() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = SummaryArgs::default();
    args.opts.offline = true;
    args.opts.store.db = Some(dir.path().join("g.db"));
    let people: Vec<Mood> = [
        [0.0, 0.0, 0.0, 0.9, 0.05, 0.05, 0.0],
        [0.0, 0.0, 0.8, 0.0, 0.1, 0.1, 0.0],
    ]
    .iter()
    .map(|p| Mood::from_probabilities(p).unwrap())
    .collect();
    let group = |people: &[Mood]| moodlens_session::SessionMood {
        mood: people[0].clone(),
        people: people.to_vec(),
    };
    let mut out = Vec::new();
    let rec = recommend_for_session(&group(&people), "camera", &args, false, &mut out)
        .unwrap()
        .unwrap();
    assert_eq!(rec.people.len(), 2);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Detected 2 people"), "{text}");
    assert!(text.contains("person 2: fear"));
    let s = Store::open(&dir.path().join("g.db")).unwrap();
    let h = s.requests(None).unwrap();
    assert_eq!(h[0].people.len(), 2);
    assert_eq!(h[0].source, "camera");
    // one person: the single-person summary
    let mut out = Vec::new();
    let rec = recommend_for_session(&group(&people[..1]), "camera", &args, true, &mut out)
        .unwrap()
        .unwrap();
    assert!(rec.people.is_empty());
    assert_eq!(rec.mood, "happy");
}

#[test]
fn catalog_import_reports_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = tmp_db(&dir);
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "id,title,genre,vote_average,vote_count,release_date\n550,Fight Club,Drama,8.4,25000,1999-10-15\nbad,row\n").unwrap();
    let TestCmd::Catalog(c) = parse(&[
        "catalog",
        "import",
        "tmdb-csv",
        csv.to_str().unwrap(),
        "--db",
        &db,
    ]) else {
        panic!()
    };
    let text = printed(|out| catalog::run(&c, out));
    assert!(text.contains("1 imported, 1 rejected"), "{text}");
    let TestCmd::Catalog(c) = parse(&["catalog", "stats", "--db", &db]) else {
        panic!()
    };
    let text = printed(|out| catalog::run(&c, out));
    assert!(text.contains("1 films"), "{text}");
    assert!(text.contains("Clearing the floor"), "{text}");
}

#[test]
fn about_credits_every_source_and_time_formats() {
    let a = moodlens_recommend::ATTRIBUTION;
    for s in [
        "This product uses the TMDB API but is not endorsed or certified by TMDB",
        "Harper",
        "Konstan",
        "GroupLens",
        "Spotify",
        "Russell",
    ] {
        assert!(a.contains(s), "{s}");
    }
    assert_eq!(format_time(0), "1970-01-01 00:00");
    assert_eq!(format_time(1_795_000_000), "2026-11-18 11:06");
}
