using Samsa.Broker.Benchmarks;

// Broker benchmarks, each beside references measured in the same run:
//   topics [topics] [partitions]                   CreateTopics and Metadata at scale (TopicsBenchmark)
//   records [MiB] [rounds] [record bytes] [batch bytes] [host:port]
//                                                  raw produce and fetch throughput against the storage
//                                                  engine and loopback TCP (RecordsBenchmark)
//   restart [segment MiB list=1,8] [clean rounds=3]
//                                                  samsa-server restart time over 300 segments after SIGKILL
//                                                  and after SIGTERM, at each segment size (RestartBenchmark)
//   transactions [records=500000] [rounds=3] [record bytes=100]
//                                                  idempotent vs transactional produce (100 and 1,000 records per
//                                                  transaction), read_committed vs read_uncommitted fetch (TransactionsBenchmark)
// With no subcommand, or numbers first, the topics benchmark runs (its original command line).
if (args.Length > 0 && args[0] == "records")
{
    await RecordsBenchmark.RunAsync(args[1..]);
}
else if (args.Length > 0 && args[0] == "transactions")
{
    await TransactionsBenchmark.RunAsync(args[1..]);
}
else if (args.Length > 0 && args[0] == "restart")
{
    await RestartBenchmark.RunAsync(args[1..]);
}
else
{
    await TopicsBenchmark.RunAsync(args.Length > 0 && args[0] == "topics" ? args[1..] : args);
}
