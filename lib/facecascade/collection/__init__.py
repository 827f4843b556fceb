"""Every face and its 5 points for a whole photo collection, on a local or a remote Dask
cluster, resumable and exactly once (3_demo/Code/process_collection.py).

- listing: INPUT (folder, list file, glob) streamed into stable shards (a hash of each
  image's path);
- store: OUT's files (sharded Parquet rows, done markers, aligned crops), the row schema;
- worker: the nets, loaded once per worker process (a worker plugin), and one shard's task;
- driver: the run (cluster, bounded shard futures, progress, summary).

Importing this package does not import Dask; the driver and worker modules do.
"""
