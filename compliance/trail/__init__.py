"""The trail page's reads and jobs: filters, keyset pages, CSV export, an entry's detail, the verify job."""
