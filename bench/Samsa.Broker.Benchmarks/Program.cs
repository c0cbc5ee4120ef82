using Samsa.Broker.Benchmarks;

// Broker benchmarks, each beside references measured in the same run:
//   topics [topics] [partitions]                   CreateTopics and Metadata at scale (TopicsBenchmark)
//   records [MiB] [rounds] [record bytes] [batch bytes] [host:port]
//                                                  raw produce and fetch throughput against the storage
//                                                  engine and loopback TCP (RecordsBenchmark)
// With no subcommand, or numbers first, the topics benchmark runs (its original command line).
if (args.Length > 0 && args[0] == "records")
{
    await RecordsBenchmark.RunAsync(args[1..]);
}
else
{
    await TopicsBenchmark.RunAsync(args.Length > 0 && args[0] == "topics" ? args[1..] : args);
}
