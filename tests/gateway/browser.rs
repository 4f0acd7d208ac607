//! Headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/install-deps.sh test`): a
//! chromedriver on a free loopback port, a session in a fresh profile, and
//! helpers that wait for the page's state instead of sleeping.

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};
use tokio::time::Instant;

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub(crate) const WIDTH: u32 = 1400;
pub(crate) const HEIGHT: u32 = 1000;

/// A chromedriver process and one browser session on it.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    /// The test's scratch folder: the browser profile and the screenshots.
    pub(crate) scratch: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. Fails (never skips) when
    /// either is missing: `make test` installs both.
    pub(crate) async fn start(scratch: &Path) -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: run scripts/install-deps.sh test (it installs chromium and chromium-driver)"
            );
        }
        std::fs::create_dir_all(scratch).unwrap();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = scratch.join("profile");
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let mut b = ClientBuilder::new(HttpConnector::new());
            match b.capabilities(caps.clone()).connect(&url).await {
                Ok(c) => break c,
                Err(e) => {
                    assert!(Instant::now() < deadline, "no WebDriver session: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        Browser {
            client,
            driver,
            scratch: scratch.to_owned(),
        }
    }

    /// Every element matching `css` now.
    pub(crate) async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    /// An attribute of every element matching `css`, read in one script so
    /// a table redrawn meanwhile cannot leave a stale element behind.
    pub(crate) async fn attrs(&self, css: &str, attr: &str) -> Vec<Option<String>> {
        let script = "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]))";
        let v = self
            .client
            .execute(script, vec![css.into(), attr.into()])
            .await
            .unwrap();
        serde_json::from_value(v).unwrap()
    }

    /// The text of every element matching `css`, read in one script.
    pub(crate) async fn texts(&self, css: &str) -> Vec<String> {
        let script = "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)";
        let v = self.client.execute(script, vec![css.into()]).await.unwrap();
        serde_json::from_value(v).unwrap()
    }

    /// Waits until `css` matches something; returns how long that took.
    pub(crate) async fn until_present(&self, css: &str, limit: Duration) -> Duration {
        self.until(css, limit, true).await
    }

    /// Waits until `css` matches nothing; returns how long that took.
    pub(crate) async fn until_absent(&self, css: &str, limit: Duration) -> Duration {
        self.until(css, limit, false).await
    }

    async fn until(&self, css: &str, limit: Duration, present: bool) -> Duration {
        let start = Instant::now();
        loop {
            if self.all(css).await.is_empty() != present {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "`{css}` still {} after {limit:?}",
                if present { "absent" } else { "present" }
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A screenshot of the viewport under the scratch folder, checked to be a
    /// PNG of the window's size with something drawn on it.
    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let (w, h) = png_size(&png);
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight]", Vec::new())
            .await
            .unwrap();
        let inner = (
            inner[0].as_u64().unwrap() as u32,
            inner[1].as_u64().unwrap() as u32,
        );
        assert_eq!((w, h), inner, "{name}: the page's viewport, at scale 1");
        assert!(
            w == WIDTH && h > HEIGHT / 2,
            "{name}: {w}x{h} in a {WIDTH}x{HEIGHT} window"
        );
        assert!(
            png.len() > 20_000,
            "{name}: {} bytes is an empty page",
            png.len()
        );
        let path = self.scratch.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        path
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test still stops its chromedriver (the browser goes with it).
        let _ = self.driver.kill();
    }
}

/// Width and height from a PNG's IHDR chunk.
pub(crate) fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    assert_eq!(&png[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}
