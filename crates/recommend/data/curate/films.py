"""Selection rules that produced the embedded catalog (run from the repo root; reads the shared
reference tables, writes crates/recommend/data). Kept for transparency: the checked-in CSV is the
curated result, validated by crates/recommend/tests/shared_data.rs."""
import os
DATA = os.environ.get("MOODLENS_DATA", "../shared/data") + "/catalogs"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
import csv,re,collections
G={'Action':28,'Adventure':12,'Animation':16,'Comedy':35,'Crime':80,'Documentary':99,'Drama':18,'Family':10751,'Fantasy':14,'History':36,'Horror':27,'Music':10402,'Mystery':9648,'Romance':10749,'Science Fiction':878,'TV Movie':10770,'Thriller':53,'War':10752,'Western':37}
rows=list(csv.DictReader(open(DATA+'/tmdb-top10k/top10K-TMDB-movies.csv',encoding='utf-8')))
print(len(rows))
# movielens titles
ml=set()
for r in csv.DictReader(open(DATA+'/movielens-small/movies.csv')):
    m=re.match(r'^(.*) \((\d{4})\)\s*$',r['title'].strip())
    if m: ml.add(m.group(2))
films=[]
for r in rows:
    try:
        y=int(r['release_date'][:4]); va=float(r['vote_average']); vc=int(r['vote_count'])
    except: continue
    gs=[g.strip() for g in r['genre'].split(',') if g.strip()]
    if not gs or any(g not in G for g in gs): continue
    films.append(dict(src='tmdb',id=int(r['id']),title=r['title'],year=y,genres=[G[g] for g in gs],rating=va,votes=vc,lang=r['original_language']))
per=collections.Counter(); chosen={}
QUOTA=25
for g in G.values():
    cand=[f for f in films if g in f['genres'] and f['rating']>=(5.8 if g in (27,10770) else 6.5)]
    cand.sort(key=lambda f:-f['votes'])
    n=0
    for f in cand:
        if n>=QUOTA: break
        if f['id'] in chosen: n+=1; continue
        chosen[f['id']]=f; n+=1

links={r['movieId']:r['tmdbId'] for r in csv.DictReader(open(DATA+'/movielens-small/links.csv'))}
rs=collections.defaultdict(list)
for r in csv.DictReader(open(DATA+'/movielens-small/ratings.csv')): rs[r['movieId']].append(float(r['rating']))
MLG={'Action':28,'Adventure':12,'Animation':16,'Children':10751,'Comedy':35,'Crime':80,'Documentary':99,'Drama':18,'Fantasy':14,'Film-Noir':80,'Horror':27,'Musical':10402,'Mystery':9648,'Romance':10749,'Sci-Fi':878,'Thriller':53,'War':10752,'Western':37}
docs=[]
for r in csv.DictReader(open(DATA+'/movielens-small/movies.csv')):
    if 'Documentary' not in r['genres'].split('|'): continue
    m=re.match(r'^(.*) \((\d{4})\)\s*$',r['title'].strip())
    if not m or not links.get(r['movieId']): continue
    v=rs.get(r['movieId'],[])
    if len(v)<8: continue
    mean=sum(v)/len(v)
    if mean<3.5: continue
    gs=[]
    for g in r['genres'].split('|'):
        if g in MLG and MLG[g] not in gs: gs.append(MLG[g])
    t=re.sub(r'\s*\(.*\)$','',m.group(1)).strip()
    mm=re.match(r'^(.*), (The|A|An)$',t)
    if mm: t=mm.group(2)+' '+mm.group(1)
    docs.append(dict(src='movielens',id=int(links[r['movieId']]),title=t,year=int(m.group(2)),genres=gs,rating=round(mean*2,1),votes=len(v)))
docs.sort(key=lambda f:-f['votes'])
for f in docs[:20]:
    if f['id'] not in chosen: chosen[f['id']]=f
print(len(chosen))
c=collections.Counter(g for f in chosen.values() for g in f['genres'])
print({k:c[v] for k,v in G.items()})
with open(OUT+'/films.csv','w',newline='') as fh:
    w=csv.writer(fh); w.writerow(['title','year','tmdb_genres','rating','rating_source','tmdb_id'])
    for f in sorted(chosen.values(),key=lambda f:(f['title'].lower(),f['year'])):
        w.writerow([f['title'],f['year'],'|'.join(map(str,f['genres'])),f['rating'],f['src'],f['id']])
