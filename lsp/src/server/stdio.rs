//! The stdio transport: LSP messages framed on stdin/stdout by two threads.
//!
//! Unlike `lsp_server::Connection::stdio`, outgoing messages queue without blocking the main
//! loop and are written through one buffer that is flushed when the queue is empty: a
//! diagnostics pass publishing to a thousand files makes a few large writes, not a thousand
//! flushed ones. Incoming messages queue too, so the main loop sees a burst of edits as one
//! (it checks whether more are waiting before it starts a diagnostics pass).

use std::io::{self, BufWriter, Write};
use std::thread::JoinHandle;

use crossbeam_channel::{unbounded, Receiver};
use lsp_server::{Connection, Message};

/// The two transport threads, joined after the main loop ends.
pub struct IoThreads {
    reader: JoinHandle<io::Result<()>>,
    writer: JoinHandle<io::Result<()>>,
}

impl IoThreads {
    /// Waits for the writer to drain its queue (the connection must be dropped first) and for
    /// the reader to see `exit` or the end of stdin.
    pub fn join(self) -> io::Result<()> {
        let written = self
            .writer
            .join()
            .map_err(|_| io::Error::other("writer panicked"))?;
        let read = self
            .reader
            .join()
            .map_err(|_| io::Error::other("reader panicked"))?;
        written.and(read)
    }
}

/// A connection on this process's stdin and stdout.
pub fn connection() -> (Connection, IoThreads) {
    let (to_client, outgoing) = unbounded::<Message>();
    let writer = std::thread::Builder::new()
        .name("lsp-writer".into())
        .spawn(move || write_all(outgoing, io::stdout().lock()))
        .expect("spawn the writer thread");
    let (incoming, from_client) = unbounded::<Message>();
    let reader = std::thread::Builder::new()
        .name("lsp-reader".into())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            while let Some(message) = Message::read(&mut stdin)? {
                let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                if incoming.send(message).is_err() || exit {
                    break;
                }
            }
            Ok(())
        })
        .expect("spawn the reader thread");
    let connection = Connection {
        sender: to_client,
        receiver: from_client,
    };
    (connection, IoThreads { reader, writer })
}

/// Writes every queued message, flushing whenever the queue runs empty.
fn write_all(outgoing: Receiver<Message>, out: impl Write) -> io::Result<()> {
    let mut out = Batched(BufWriter::with_capacity(1 << 16, out));
    for message in outgoing.iter() {
        message.write(&mut out)?;
        if outgoing.is_empty() {
            out.0.flush()?;
        }
    }
    out.0.flush()
}

/// `Message::write` flushes after every message; this writer leaves flushing to [`write_all`].
struct Batched<W: Write>(BufWriter<W>);

impl<W: Write> Write for Batched<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_server::Notification;

    /// A writer that records what reached it and when it was flushed.
    #[derive(Clone, Default)]
    struct Recorder(std::sync::Arc<std::sync::Mutex<(Vec<u8>, usize)>>);

    impl Write for Recorder {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().0.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.lock().unwrap().1 += 1;
            Ok(())
        }
    }

    #[test]
    fn queued_messages_are_written_in_order_with_one_flush() {
        let (sender, receiver) = unbounded::<Message>();
        for index in 0..100 {
            let notification = Notification::new("n".into(), index);
            sender.send(notification.into()).unwrap();
        }
        drop(sender);
        let recorder = Recorder::default();
        write_all(receiver, recorder.clone()).unwrap();
        let (bytes, flushes) = recorder.0.lock().unwrap().clone();
        // All 100 were queued before writing began: one flush when the queue ran empty, one
        // at the end.
        assert!(flushes <= 2, "{flushes} flushes");
        let mut reader = io::BufReader::new(&bytes[..]);
        for index in 0..100 {
            match Message::read(&mut reader).unwrap() {
                Some(Message::Notification(n)) => assert_eq!(n.params, index),
                other => panic!("{other:?}"),
            }
        }
        assert!(Message::read(&mut reader).unwrap().is_none());
    }
}
