"""The REST client: ``client`` (``BitunixRestClient``, ``open_rest_client``) and its
``account`` calls; ``session`` (signing, retries), ``limits`` (the exchange's rate limits),
``replies`` (the reply envelope and every error mapping), ``args`` (argument checks),
``results`` (the result types) and ``hints`` (what an error message suggests).
"""
